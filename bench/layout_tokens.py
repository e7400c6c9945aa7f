"""Training tokens per labelled pair: one sample per pair against the multi-question layout.

    python -m bench.layout_tokens      # about a minute on 2 CPU cores
    -> bench/results/layout_tokens.json and layout_tokens.md

Over the same contexts (those cut for the multi layout's budget, which reserves room for all
its question turns), so that the saving is the layout's alone; beside them, the pair layout
with its own, larger budget. On the demo set and on generated long threads.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from core.jsonl import write_jsonl
from core.manifest import manifest
from prep.build import sample_rows
from prep.strategies import STRATEGIES, Options, prepare_conversation
from prep.synth import generate_long
from prep.tables import Tables
from prep.tokens import TokenCounter
from prep.validate import load_tables

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "smollm2-135m-instruct"
RESULTS = ROOT / "bench" / "results"
STRATEGY_NAMES = ("full", "truncate", "focus", "snippets")
SEQUENCE_LEN = {"demo": 2048, "long": 8192}
AUTHORS = 50


def generated_tables(workdir: Path, chars: int, conversations: int, seed: int) -> Tables:
    messages, stances, _ = generate_long(seed, conversations, chars, AUTHORS, ["start", "middle", "end"])
    write_jsonl(workdir / "messages.jsonl", messages)
    write_jsonl(workdir / "stances.jsonl", stances)
    return load_tables(workdir / "messages.jsonl", workdir / "stances.jsonl")


def tokens_per_pair(tables: Tables, strategy: str, sequence_len: int, counter: TokenCounter) -> dict:
    """Tokens per labelled pair of the three ways of writing the same pairs (over-budget contexts left out)."""
    totals = {"pair": [0, 0], "pair_same_contexts": [0, 0], "multi": [0, 0]}
    excluded = {"pair": 0, "multi": 0}
    by_conversation, messages = {}, {}
    for stance in tables.stances:
        by_conversation.setdefault(stance["conversation_id"], []).append(stance)
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


def markdown(results: dict) -> str:
    lines = ["# Tokens per labelled pair: one sample per pair against the multi-question layout", "",
             "`python -m bench.layout_tokens`, SmolLM2's tokenizer. `pair` uses the pair layout's budget; "
             "`pair (same contexts)` and `multi` use the contexts cut for the multi layout (16 questions per sample). "
             "Pairs of over-budget contexts are left out and counted.", "",
             "| data | strategy | sequence_len | pair | pair (same contexts) | multi | multi saves | pairs "
             "| excluded pairs (pair / multi) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for data, rows in results.items():
        for r in rows:
            t = {name: "-" if value is None else value for name, value in r["tokens_per_pair"].items()}
            saves = "-" if r["multi_saves"] is None else f"{100 * r['multi_saves']:.0f}%"
            lines.append(f"| {data} | {r['strategy']} | {r['sequence_len']} | {t['pair']} "
                         f"| {t['pair_same_contexts']} | {t['multi']} | {saves} | {r['pairs']['multi']} "
                         f"| {r['excluded_pairs']['pair']} / {r['excluded_pairs']['multi']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    counter = TokenCounter(MODEL)
    with tempfile.TemporaryDirectory() as workdir:
        sets = {"demo": load_tables(ROOT / "data/demo/messages.jsonl", ROOT / "data/demo/stances.jsonl"),
                "long": generated_tables(Path(workdir), 150_000, 2, seed=12)}
        results = {name: [tokens_per_pair(tables, strategy, SEQUENCE_LEN[name], counter) for strategy in STRATEGY_NAMES]
                   for name, tables in sets.items()}
    results["manifest"] = manifest({"sequence_len": SEQUENCE_LEN, "strategies": STRATEGY_NAMES})
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "layout_tokens.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "layout_tokens.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
