"""Prep speed against one plain tokenizer pass, and the tokens the multi-question layout saves.

    python -m bench.prep_speed      # about 3 minutes on 2 CPU cores
    -> bench/results/prep_speed.json and prep_speed.md

Speed: wall time of `prep.build.build` (tables loaded and validated beforehand, tokenizer
loaded beforehand, a fresh TokenCounter per run so that nothing is counted from an earlier
run) against `tokenizer(text)` over the same message texts joined by line breaks. Generated
threads of 150,000 and 1,000,000 characters with 50 authors; 1 or all 50 of them asked about,
3 statements each. Both sides single-threaded (TOKENIZERS_PARALLELISM=false); best of 3.

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
REPEATS = 3


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


def best_of(run) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def prep_seconds(tables: Tables, strategy: str, layout: str) -> tuple[float, int]:
    times, rows = [], None
    for _ in range(REPEATS):
        counter = TokenCounter(MODEL)
        fresh = dataclasses.replace(tables, exclusions=Exclusions())
        start = time.perf_counter()
        rows, _ = build(fresh, counter, strategy, SEQUENCE_LEN["long"], {"train": 1.0, "dev": 0.0, "test": 0.0}, 0,
                        "exclude", Options(layout=layout))
        times.append(time.perf_counter() - start)
    return min(times), sum(len(r) for r in rows.values())


def speed(workdir: Path) -> list[dict]:
    results = []
    for chars in SIZES:
        tables = generated_tables(workdir, chars, 1, seed=11)
        text = "\n".join(m["text"] for m in tables.messages)
        tokenizer = TokenCounter(MODEL).tokenizer
        baseline = best_of(lambda: tokenizer(text))
        for contributors in CONTRIBUTORS:
            asked = asking(tables, contributors)
            for strategy in SPEED_STRATEGIES:
                for layout in ("pair", "multi"):
                    seconds, rows = prep_seconds(asked, strategy, layout)
                    results.append({"chars": len(text), "messages": len(tables.messages), "contributors": contributors,
                                    "pairs": len(asked.stances), "strategy": strategy, "layout": layout, "rows": rows,
                                    "prep_s": round(seconds, 3), "tokenizer_pass_s": round(baseline, 3),
                                    "ratio": round(seconds / baseline, 2)})
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
                    for row in sample_rows(conversation, context, counter, strategy, layout, options.questions_per_sample):
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
        results[name] = [tokens_per_pair(tables, strategy, SEQUENCE_LEN[name], counter) for strategy in TOKEN_STRATEGIES]
        for result in results[name]:
            print(name, result, flush=True)
    return results


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
            "tokenizer": "SmolLM2-135M-Instruct", "tokenizers_parallelism": os.environ["TOKENIZERS_PARALLELISM"]}


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = ["# Prep speed and multi-question token savings", "",
             f"`python -m bench.prep_speed` on {m['cores']} CPU cores ({m['cpu']}), tokenizer {m['tokenizer']}, "
             f"tokenizers {m['tokenizers']}, single-threaded, best of {REPEATS}.", "",
             "## Speed: prep against one tokenizer pass over the same text", "",
             f"sequence_len {SEQUENCE_LEN['long']}; one generated conversation of {AUTHORS} authors, 3 statements; "
             "`contributors` = authors asked about.", "",
             "| characters | messages | contributors | pairs | strategy | layout | rows | prep s | tokenizer pass s | ratio |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["speed"]:
        lines.append(f"| {r['chars']:,} | {r['messages']:,} | {r['contributors']} | {r['pairs']} | {r['strategy']} | "
                     f"{r['layout']} | {r['rows']:,} | {r['prep_s']} | {r['tokenizer_pass_s']} | {r['ratio']} |")
    lines += ["", "## Tokens per labelled pair: one sample per pair against the multi-question layout", "",
              "`pair` uses the pair layout's budget; `pair (same contexts)` and `multi` use the contexts cut for the "
              "multi layout (16 questions per sample). Pairs of over-budget contexts are left out and counted.", "",
              "| data | strategy | sequence_len | pair | pair (same contexts) | multi | multi saves | pairs | excluded pairs (pair / multi) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for data, rows in results["tokens"].items():
        for r in rows:
            t = r["tokens_per_pair"]
            saves = "-" if r["multi_saves"] is None else f"{100 * r['multi_saves']:.0f}%"
            lines.append(f"| {data} | {r['strategy']} | {r['sequence_len']} | {t['pair']} | {t['pair_same_contexts']} | "
                         f"{t['multi']} | {saves} | {r['pairs']['multi']} | {r['excluded_pairs']['pair']} / "
                         f"{r['excluded_pairs']['multi']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        results = {"machine": machine(), "speed": speed(Path(workdir)), "tokens": token_savings(Path(workdir))}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "prep_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "prep_speed.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
