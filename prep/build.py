"""Annotated conversations -> chat-template JSONL splits + prep report.

    python -m prep.build --messages data/demo/messages.jsonl --stances data/demo/stances.jsonl \\
        --tokenizer models/smollm2-135m-instruct --strategy full --sequence-len 2048 \\
        --out data/prepared/demo-full

One JSONL row per (statement, contributor): a `messages` list (user prompt, assistant yes/no)
that Axolotl's chat_template loader reads, and a `meta` dict that eval uses to score and
aggregate. Over-budget contexts follow --over-budget: 'error' stops, 'exclude' counts them.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import asdict
from itertools import groupby
from pathlib import Path

from prep import prompt
from prep.report import length_stats, write_report
from prep.schema import Exclusions, Policy, Tables, load_tables
from prep.split import SPLITS, parse_fractions, split_conversations
from prep.strategies import STRATEGIES, Context, Conversation, prepare_conversation
from prep.tokens import TokenCounter


class OverBudgetError(ValueError):
    pass


def sample_rows(conversation: Conversation, context: Context, counter: TokenCounter, strategy: str) -> list[dict]:
    """One training/eval row per stance pair of a context, with the metadata eval needs."""
    kept = set(context.kept)
    rows = []
    for index in context.stance_indices:
        stance = conversation.stances[index]
        own = [i for i, m in enumerate(conversation.messages) if m["author"] == stance["contributor"]]
        own_kept = sum(i in kept for i in own)
        meta = {
            "conversation_id": conversation.conversation_id, "statement_id": stance["statement_id"],
            "contributor": stance["contributor"], "label": stance["label"], "strategy": strategy,
            "template_version": prompt.TEMPLATE_VERSION, "context_id": context.context_id,
            "n_tokens": counter.sample_tokens(context.n_tokens, conversation.question_tokens[index], stance["label"]),
            "messages_total": len(conversation.messages), "messages_kept": len(kept),
            "contributor_messages_kept": own_kept, "contributor_messages_dropped": len(own) - own_kept,
            **context.meta,
        }
        messages = prompt.chat(context.text, stance["statement"], stance["contributor"], stance["label"])
        rows.append({"messages": messages, "meta": meta})
    return rows


def build(tables: Tables, counter: TokenCounter, strategy: str, sequence_len: int,
          fractions: dict[str, float], seed: int, over_budget: str) -> tuple[dict[str, list[dict]], Exclusions]:
    exclusions = tables.exclusions
    stances_by_conversation = defaultdict(list)
    for stance in tables.stances:
        stances_by_conversation[stance["conversation_id"]].append(stance)
    assignment = split_conversations(list(stances_by_conversation), fractions, seed)
    rows = {name: [] for name in SPLITS}
    for conversation_id, messages in groupby(tables.messages, key=lambda m: m["conversation_id"]):
        stances = stances_by_conversation.get(conversation_id)
        if not stances:
            exclusions.add("conversation_without_stances", "messages", None, conversation_id=conversation_id)
            continue
        conversation = prepare_conversation(conversation_id, list(messages), stances, counter)
        for context in STRATEGIES[strategy](conversation, counter, sequence_len):
            if context.n_tokens > context.budget:
                detail = f"context has {context.n_tokens} tokens, budget {context.budget} (sequence_len {sequence_len})"
                if over_budget == "error":
                    raise OverBudgetError(f"{context.context_id}: {detail}; use a shortening strategy or --over-budget exclude")
                for index in context.stance_indices:
                    stance = stances[index]
                    exclusions.add("over_budget", "stances", stance["_row"], detail, conversation_id=conversation_id,
                                   statement_id=stance["statement_id"], contributor=stance["contributor"])
                continue
            rows[assignment[conversation_id]].extend(sample_rows(conversation, context, counter, strategy))
    for split_rows in rows.values():
        if split_rows:  # the accounting is exact by construction; prove it on the longest sample
            longest = max(split_rows, key=lambda r: r["meta"]["n_tokens"])
            counter.check_exact(longest["messages"], longest["meta"]["n_tokens"])
    return rows, exclusions


def split_summary(split_rows: list[dict], sequence_len: int) -> dict:
    metas = [r["meta"] for r in split_rows]
    return {
        "conversations": len({m["conversation_id"] for m in metas}), "samples": len(metas),
        "yes": sum(m["label"] == "yes" for m in metas), "no": sum(m["label"] == "no" for m in metas),
        "tokens": length_stats([m["n_tokens"] for m in metas], sequence_len),
        "shortened": sum(m["messages_kept"] < m["messages_total"] for m in metas),
        "contributor_messages_kept": sum(m["contributor_messages_kept"] for m in metas),
        "contributor_messages_dropped": sum(m["contributor_messages_dropped"] for m in metas),
    }


def write_outputs(out_dir: Path, rows: dict[str, list[dict]], report: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, split_rows in rows.items():
        with open(out_dir / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for row in split_rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    write_report(out_dir, report)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", required=True, type=Path)
    parser.add_argument("--stances", required=True, type=Path)
    parser.add_argument("--tokenizer", required=True, help="the run's base model folder (tokenizer + chat template)")
    parser.add_argument("--strategy", choices=sorted(STRATEGIES), default="full")
    parser.add_argument("--sequence-len", type=int, required=True, help="the run's Axolotl sequence_len")
    parser.add_argument("--split", default="0.6,0.2,0.2", help="train,dev,test fractions of conversations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--over-budget", choices=("error", "exclude"), default="error")
    for name in Policy.__dataclass_fields__:
        parser.add_argument(f"--{name.replace('_', '-')}", choices=("error", "exclude"), default=getattr(Policy(), name))
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)

    policy = Policy(**{name: getattr(args, name) for name in Policy.__dataclass_fields__})
    tables = load_tables(args.messages, args.stances, policy)
    counter = TokenCounter(args.tokenizer)
    rows, exclusions = build(tables, counter, args.strategy, args.sequence_len,
                             parse_fractions(args.split), args.seed, args.over_budget)
    report = {
        "settings": {"strategy": args.strategy, "sequence_len": args.sequence_len, "split": args.split,
                     "seed": args.seed, "over_budget": args.over_budget, "policy": asdict(policy),
                     "template_version": prompt.TEMPLATE_VERSION, "tokenizer": str(args.tokenizer)},
        "input": {**tables.rows_in, "conversations": len({m["conversation_id"] for m in tables.messages}),
                  "annotators": tables.annotators},
        "splits": {name: split_summary(split_rows, args.sequence_len) for name, split_rows in rows.items()},
        "exclusions": {"counts": exclusions.counts(), "items": exclusions.items},
    }
    write_outputs(args.out, rows, report)
    print((args.out / "prep_report.md").read_text())
    return report


if __name__ == "__main__":
    main()
