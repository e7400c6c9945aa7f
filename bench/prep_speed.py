"""Prep speed against one plain tokenizer pass, and the tokens the multi-question layout saves.

    python -m bench.prep_speed      # about 3 minutes on 2 CPU cores
    -> bench/results/prep_speed.json and prep_speed.md

Speed: wall time of `prep.build.build` (tables loaded and validated, tokenizer loaded and the
split given beforehand; a fresh TokenCounter per run so that nothing is counted from an
earlier run) against `tokenizer(text)` over the same message texts joined by line breaks. Generated
threads of 150,000 and 1,000,000 characters with 50 authors; 1 or all 50 of them asked about,
3 statements each. Both sides single-threaded (TOKENIZERS_PARALLELISM=false); best of 5, the
two taken alternately; wall and CPU time (on a shared machine only the CPU time is free of
other processes' load).

Tokens: training tokens per labelled pair, one sample per pair against the multi-question
layout, over the same contexts (those cut for the multi layout's budget, which reserves room
for all its question turns); beside them, the pair layout with its own, larger budget.
"""

from __future__ import annotations

import os

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # before the tokenizer is loaded

import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path

import tokenizers
import transformers

from prep.build import build, sample_rows
from prep.schema import Exclusions, Tables, load_tables
from prep.strategies import STRATEGIES, Options, prepare_conversation
from prep.synth import generate_long, write_jsonl
from prep.tokens import TokenCounter

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "smollm2-135m-instruct"
RESULTS = ROOT / "bench" / "results"
SIZES = (150_000, 1_000_000)
AUTHORS = 50
CONTRIBUTORS = (1, 50)
SPEED_STRATEGIES = ("truncate", "focus", "snippets")
TOKEN_STRATEGIES = ("full", "truncate", "focus", "snippets")
SEQUENCE_LEN = {"demo": 2048, "long": 8192}
REPEATS = 5
ONLY_TRAIN = {"train": 1.0, "dev": 0.0, "test": 0.0}


def generated_tables(workdir: Path, chars: int, conversations: int, seed: int) -> Tables:
    messages, stances, _ = generate_long(seed, conversations, chars, AUTHORS, ["start", "middle", "end"])
    write_jsonl(workdir / f"messages-{chars}.jsonl", messages)
    write_jsonl(workdir / f"stances-{chars}.jsonl", stances)
    return load_tables(workdir / f"messages-{chars}.jsonl", workdir / f"stances-{chars}.jsonl")


def asking(tables: Tables, contributors: int) -> Tables:
    """The same tables with stances about only the first `contributors` authors of each conversation."""
    chosen = {}
    for stance in tables.stances:
        names = chosen.setdefault(stance["conversation_id"], [])
        if stance["contributor"] not in names and len(names) < contributors:
            names.append(stance["contributor"])
    stances = [s for s in tables.stances if s["contributor"] in chosen[s["conversation_id"]]]
    return dataclasses.replace(tables, stances=stances, exclusions=Exclusions())


def timed(run) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): on a shared machine the CPU time is the
    measure that other processes' load does not inflate (both sides are single-threaded)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def prep_against_tokenizer(tables: Tables, text: str, strategy: str, layout: str) -> dict:
    """Best prep and best tokenizer-pass times, taken alternately so that load from other
    processes hits both alike."""
    prep, baseline, rows = [], [], {}
    everything_in_train = {m["conversation_id"]: "train" for m in tables.messages}
    for _ in range(REPEATS):
        counter = TokenCounter(MODEL)
        fresh = dataclasses.replace(tables, exclusions=Exclusions())
        baseline.append(timed(lambda: counter.tokenizer(text)))
        prep.append(timed(lambda: rows.update(build(fresh, counter, strategy, SEQUENCE_LEN["long"], ONLY_TRAIN, 0,
                                                    "exclude", Options(layout=layout), everything_in_train)[0])))
    best = {name: [min(t[i] for t in times) for i in (0, 1)] for name, times in (("prep", prep), ("pass", baseline))}
    written = sum(row["meta"]["n_tokens"] for split_rows in rows.values() for row in split_rows)
    return {"rows": sum(len(r) for r in rows.values()),
            "output_per_input_tokens": round(written / len(counter.tokenizer(text)["input_ids"]), 1),
            "prep_wall_s": round(best["prep"][0], 3), "pass_wall_s": round(best["pass"][0], 3),
            "ratio_wall": round(best["prep"][0] / best["pass"][0], 2),
            "prep_cpu_s": round(best["prep"][1], 3), "pass_cpu_s": round(best["pass"][1], 3),
            "ratio_cpu": round(best["prep"][1] / best["pass"][1], 2)}


def speed(workdir: Path) -> list[dict]:
    results = []
    for chars in SIZES:
        tables = generated_tables(workdir, chars, 1, seed=11)
        text = "\n".join(m["text"] for m in tables.messages)
        for contributors in CONTRIBUTORS:
            asked = asking(tables, contributors)
            for strategy in SPEED_STRATEGIES:
                for layout in ("pair", "multi"):
                    results.append({"chars": len(text), "messages": len(tables.messages), "contributors": contributors,
                                    "pairs": len(asked.stances), "strategy": strategy, "layout": layout,
                                    **prep_against_tokenizer(asked, text, strategy, layout)})
                    print(results[-1], flush=True)
    return results


def tokens_per_pair(tables: Tables, strategy: str, sequence_len: int, counter: TokenCounter) -> dict:
    """Tokens per labelled pair of the three ways of writing the same pairs (over-budget contexts left out)."""
    totals = {"pair": [0, 0], "pair_same_contexts": [0, 0], "multi": [0, 0]}
    excluded = {"pair": 0, "multi": 0}
    by_conversation = {}
    for stance in tables.stances:
        by_conversation.setdefault(stance["conversation_id"], []).append(stance)
    messages = {}
    for message in tables.messages:
        messages.setdefault(message["conversation_id"], []).append(message)
    for conversation_id, stances in by_conversation.items():
        conversation = prepare_conversation(conversation_id, messages[conversation_id], stances, counter)
        for budget_layout, written in (("pair", ("pair",)), ("multi", ("pair_same_contexts", "multi"))):
            options = Options(layout=budget_layout)
            for context in STRATEGIES[strategy](conversation, counter, sequence_len, options):
                if context.n_tokens > context.budget:
                    excluded[budget_layout] += len(context.stance_indices)
                    continue
                for name in written:
                    layout = "multi" if name == "multi" else "pair"
                    rows = sample_rows(conversation, context, counter, strategy, layout, options.questions_per_sample)
                    for row in rows:
                        totals[name][0] += row["meta"]["n_tokens"]
                        totals[name][1] += len(row["meta"].get("pairs", [row["meta"]]))
    per_pair = {name: round(tokens / pairs, 1) if pairs else None for name, (tokens, pairs) in totals.items()}
    saved = (1 - per_pair["multi"] / per_pair["pair_same_contexts"]) if per_pair["multi"] else None
    return {"strategy": strategy, "sequence_len": sequence_len, "pairs": {k: v[1] for k, v in totals.items()},
            "excluded_pairs": excluded, "tokens_per_pair": per_pair,
            "multi_saves": None if saved is None else round(saved, 3)}


def token_savings(workdir: Path) -> dict:
    counter = TokenCounter(MODEL)
    sets = {"demo": load_tables(ROOT / "data/demo/messages.jsonl", ROOT / "data/demo/stances.jsonl"),
            "long": generated_tables(workdir, 150_000, 2, seed=12)}
    results = {}
    for name, tables in sets.items():
        results[name] = [tokens_per_pair(tables, strategy, SEQUENCE_LEN[name], counter)
                         for strategy in TOKEN_STRATEGIES]
        for result in results[name]:
            print(name, result, flush=True)
    return results


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average_after": os.getloadavg()[0],
            "python": platform.python_version(),
            "tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
            "tokenizer": "SmolLM2-135M-Instruct", "tokenizers_parallelism": os.environ["TOKENIZERS_PARALLELISM"]}


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = ["# Prep speed and multi-question token savings", "",
             f"`python -m bench.prep_speed` on {m['cores']} CPU cores ({m['cpu']}), tokenizer {m['tokenizer']}, "
             f"tokenizers {m['tokenizers']}, single-threaded, best of {REPEATS} (prep and tokenizer pass taken "
             "alternately).", "",
             "## Speed: prep against one tokenizer pass over the same text", "",
             f"sequence_len {SEQUENCE_LEN['long']}; one generated conversation of {AUTHORS} authors, 3 statements; "
             "`contributors` = authors asked about.", "",
             f"The machine is shared (load average {m['load_average_before']:.1f} before, "
             f"{m['load_average_after']:.1f} after, on {m['cores']} cores): wall times carry other processes' load, "
             "CPU times (this process only) do not.", "",
             "| characters | messages | contributors | pairs | strategy | layout | rows | output tokens / input tokens "
             "| prep / pass wall s | ratio wall | prep / pass CPU s | ratio CPU |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["speed"]:
        lines.append(f"| {r['chars']:,} | {r['messages']:,} | {r['contributors']} | {r['pairs']} | {r['strategy']} | "
                     f"{r['layout']} | {r['rows']:,} | {r['output_per_input_tokens']} "
                     f"| {r['prep_wall_s']} / {r['pass_wall_s']} | {r['ratio_wall']} "
                     f"| {r['prep_cpu_s']} / {r['pass_cpu_s']} | {r['ratio_cpu']} |")
    lines += ["", "## Tokens per labelled pair: one sample per pair against the multi-question layout", "",
              "`pair` uses the pair layout's budget; `pair (same contexts)` and `multi` use the contexts cut for the "
              "multi layout (16 questions per sample). Pairs of over-budget contexts are left out and counted.", "",
              "| data | strategy | sequence_len | pair | pair (same contexts) | multi | multi saves | pairs "
              "| excluded pairs (pair / multi) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for data, rows in results["tokens"].items():
        for r in rows:
            t = {name: "-" if value is None else value for name, value in r["tokens_per_pair"].items()}
            saves = "-" if r["multi_saves"] is None else f"{100 * r['multi_saves']:.0f}%"
            lines.append(f"| {data} | {r['strategy']} | {r['sequence_len']} | {t['pair']} "
                         f"| {t['pair_same_contexts']} | {t['multi']} | {saves} | {r['pairs']['multi']} "
                         f"| {r['excluded_pairs']['pair']} / {r['excluded_pairs']['multi']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as workdir:
        results = {"speed": speed(Path(workdir)), "tokens": token_savings(Path(workdir))}
    results = {"machine": {**machine(), "load_average_before": load_before}, **results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "prep_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "prep_speed.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
