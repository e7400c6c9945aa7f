"""Annotated conversations -> chat-template JSONL splits + prep report.

    python -m prep.build --messages data/demo/messages.jsonl --stances data/demo/stances.jsonl \\
        --tokenizer models/smollm2-135m-instruct --strategy full --sequence-len 2048 \\
        --out data/prepared/demo-full

One JSONL row per (statement, contributor): a `messages` list (user prompt, assistant yes/no)
that Axolotl's chat_template loader reads, and a `meta` dict that eval uses to score and
aggregate. Over-budget contexts follow --over-budget: 'error' stops, 'exclude' counts them.
How conversations are fitted into --sequence-len is --strategy (see `prep.strategies`). With
--layout multi the train split holds one row per group of pairs asked against the same
context, one user turn and one answer turn per pair (`meta.pairs`); dev and test stay one
row per pair, which is what eval reads. Pairs nobody has judged yet (no label, no vote) go to
`to_label.jsonl`, one prompt per pair without an answer (`meta.label` null), never into train,
dev or test: any run scores them like test pairs, and `python -m eval.queue` ranks them.

Before anything is rendered the tables are validated (`prep.validate`), anonymised
(`prep.anonymise`: pseudonyms P01.. per conversation, the map written to OUT.private/), their
languages detected and optionally converted or translated (`prep.language`), and split by
conversation (`prep.split`: the stances' own `split` column, else stratified by yes-rate).
OUT/tables/ holds the pseudonymised tables, which eval joins predictions with.

Anonymisation, language detection and build run conversation by conversation on --workers
processes (`prep.parallel`; default every core), each with a progress bar; the output is the
same for any number of workers. The report records each stage's wall and CPU seconds
(`timing`: the one part of the output that differs between runs). A 37-million-character corpus
takes about 44 CPU seconds, about 25 s on 2 idle cores (prep/README.md, Speed).
"""

from __future__ import annotations

import time

_IMPORTS_STARTED = time.perf_counter()  # the imports below are timed for the report

import argparse
import json
from collections import Counter, defaultdict
from dataclasses import asdict
from itertools import groupby
from pathlib import Path
from typing import NamedTuple

from core.cli import UserError, run_cli
from core.jsonl import write_jsonl
from prep import identifiers, language, parallel, prompt
from prep.anonymise import anonymise, private_dir, write_pseudonym_map
from prep.names import lexicon
from prep.report import Stages, length_stats, most_replaced, write_report
from prep.split import SPLITS, assign, parse_fractions, shared_texts
from prep.strategies import (
    STRATEGIES,
    Context,
    Conversation,
    Options,
    options_from_args,
    prepare_conversation,
    question_groups,
)
from prep.strategies import add_arguments as add_strategy_arguments
from prep.tables import Exclusions, Tables, write_table
from prep.tokens import TokenCounter
from prep.validate import Policy, load_tables

IMPORT_SECONDS = time.perf_counter() - _IMPORTS_STARTED


TO_LABEL = "to_label"  # the prepared set of pairs nobody has judged yet (to_label.jsonl)


class OverBudgetError(UserError):
    pass


def labelled(stances: list[dict]) -> list[dict]:
    return [s for s in stances if s["label"] is not None]


def sample_rows(conversation: Conversation, context: Context, counter: TokenCounter, strategy: str,
                layout: str = "pair", questions_per_sample: int = 1) -> list[dict]:
    """The rows of a context, with the metadata eval needs: one per stance pair (pair layout), or
    one per group of pairs with a question turn and an answer turn each (multi layout, whose
    `meta.pairs` lists the pairs in turn order)."""
    kept_by_author = Counter(conversation.messages[i]["author"] for i in context.kept)
    rows = []
    for group in question_groups(context.stance_indices, layout, questions_per_sample):
        stances = [conversation.stances[index] for index in group]
        pairs = []
        for stance in stances:
            own_kept = kept_by_author[stance["contributor"]]
            own_total = len(conversation.by_author.get(stance["contributor"], []))
            pairs.append({"statement_id": stance["statement_id"], "contributor": stance["contributor"],
                          "label": stance["label"], "contributor_messages_kept": own_kept,
                          "contributor_messages_dropped": own_total - own_kept})
        labels = [stance["label"] for stance in stances]
        unlabelled = labels == [None]  # a to_label pair: the prompt alone; its tokens count an answer's place
        counts = ("contributor_messages_kept", "contributor_messages_dropped")
        meta = {
            "conversation_id": conversation.conversation_id, "strategy": strategy, "layout": layout,
            "template_version": prompt.TEMPLATE_VERSION, "context_id": context.context_id,
            "n_tokens": counter.sample_tokens(context.n_tokens, [conversation.question_tokens[i] for i in group],
                                              ["no"] if unlabelled else labels),
            "messages_total": len(conversation.messages), "messages_kept": len(context.kept),
            **(pairs[0] if layout == "pair" else {"pairs": pairs, **{k: sum(p[k] for p in pairs) for k in counts}}),
            **context.meta,
        }
        messages = prompt.multi_chat(context.text, [conversation.questions[i] for i in group], None if unlabelled else labels)
        rows.append({"messages": messages, "meta": meta})
    return rows


class BuildSettings(NamedTuple):
    counter: TokenCounter
    strategy: str
    sequence_len: int
    over_budget: str
    options: Options


def build_conversation(settings: BuildSettings, task: tuple[str, list[dict], list[dict], str]) -> tuple[list[dict], list[dict]]:
    """One conversation's rows (the train split in options.layout, dev and test one row per pair)
    and the exclusions of its over-budget pairs."""
    conversation_id, messages, stances, split = task
    counter, options = settings.counter, settings.options
    conversation = prepare_conversation(conversation_id, messages, stances, counter)
    rows, exclusions = [], Exclusions()
    for context in STRATEGIES[settings.strategy](conversation, counter, settings.sequence_len, options):
        if context.n_tokens > context.budget:
            detail = (f"{context.context_id}: context has {context.n_tokens} tokens, budget {context.budget} "
                      f"(sequence_len {settings.sequence_len})")
            if settings.over_budget == "error":
                raise OverBudgetError(f"{detail}; use a shortening strategy or --over-budget exclude")
            for index in context.stance_indices:
                stance = stances[index]
                exclusions.add("over_budget", "stances", stance["_row"], detail, conversation_id=conversation_id,
                               statement_id=stance["statement_id"], contributor=stance["contributor"])
            continue
        layout = options.layout if split == "train" else "pair"
        rows += sample_rows(conversation, context, counter, settings.strategy, layout, options.questions_per_sample)
    return rows, exclusions.items


def build(tables: Tables, counter: TokenCounter, strategy: str, sequence_len: int,
          fractions: dict[str, float], seed: int, over_budget: str,
          options: Options = Options(), assignment: dict[str, str] | None = None,
          workers: int = 1) -> tuple[dict[str, list[dict]], Exclusions]:
    """Rows per split; the train split in options.layout, dev and test one row per pair (for eval),
    and `to_label`: the pairs nobody has judged yet, one prompt per pair without an answer, never
    in train, dev or test. Conversations go to splits by `assignment` if given, else by
    `split.assign` (on the labelled pairs). Conversations are built on `workers` processes (one
    for the summarise strategy, whose model stays here); the rows are the same whatever their number."""
    exclusions = tables.exclusions
    stances_by_conversation = defaultdict(lambda: defaultdict(list))
    for stance in tables.stances:
        stances_by_conversation[stance["conversation_id"]][stance["label"] is None].append(stance)
    assignment = assignment or assign(labelled(tables.stances), tables.messages, fractions, seed)[0]
    tasks = []
    for conversation_id, messages in groupby(tables.messages, key=lambda m: m["conversation_id"]):
        messages, stances = list(messages), stances_by_conversation.get(conversation_id, {})
        if not stances:
            exclusions.add("conversation_without_stances", "messages", None, conversation_id=conversation_id)
        if stances.get(False):
            tasks.append((conversation_id, messages, stances[False], assignment[conversation_id]))
        if stances.get(True):
            tasks.append((conversation_id, messages, stances[True], TO_LABEL))
    counter.overhead  # the chat template's counts, measured once here (forked workers inherit them)
    settings = BuildSettings(counter, strategy, sequence_len, over_budget, options)
    sizes = [len(task[1]) for task in tasks]
    results = iter(parallel.ordered_map(build_conversation, settings, tasks, 1 if options.summariser else workers,
                                        {"desc": "build", "unit": " messages", "total": sum(sizes)}, sizes))
    rows = {name: [] for name in (*SPLITS, TO_LABEL)}
    for task in tasks:  # in input order, and so are the exclusions
        conversation_rows, excluded = next(results)
        rows[task[3]].extend(conversation_rows)
        exclusions.items.extend(excluded)
    for name, split_rows in rows.items():
        if split_rows and name != TO_LABEL:  # the accounting is exact by construction; prove it on the longest sample
            longest = max(split_rows, key=lambda r: r["meta"]["n_tokens"])
            counter.check_exact(longest["messages"], longest["meta"]["n_tokens"])
    return rows, exclusions


def split_summary(split_rows: list[dict], sequence_len: int) -> dict:
    metas = [r["meta"] for r in split_rows]
    pairs = [pair for m in metas for pair in m.get("pairs", [m])]  # multi-layout rows hold several
    return {
        "conversations": len({m["conversation_id"] for m in metas}), "samples": len(metas), "pairs": len(pairs),
        "yes": sum(p["label"] == "yes" for p in pairs), "no": sum(p["label"] == "no" for p in pairs),
        "tokens": length_stats([m["n_tokens"] for m in metas], sequence_len),
        "shortened": sum(m["messages_kept"] < m["messages_total"] for m in metas),
        "contributor_messages_kept": sum(m["contributor_messages_kept"] for m in metas),
        "contributor_messages_dropped": sum(m["contributor_messages_dropped"] for m in metas),
    }


def panel_section(tables: Tables, tie: str) -> dict | None:
    """Annotator agreement; statsmodels and scikit-learn (3 s of imports) load only for a panel."""
    if len(tables.annotators) < 2:
        return None
    from prep.panel import panel_report

    return panel_report(labelled(tables.stances), tables.annotators, tie)


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
    add_strategy_arguments(parser)
    for name in Policy.__dataclass_fields__:
        parser.add_argument(f"--{name.replace('_', '-')}", choices=Policy.choices(name), default=getattr(Policy(), name))
    language.add_arguments(parser)
    parser.add_argument("--pseudonym-map", type=Path, help="where the author -> pseudonym map goes (default: OUT.private/)")
    parser.add_argument("--import-report", type=Path, help="an importer's report: its exclusions and repairs join this one")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--workers", type=int, default=parallel.available_cores(),
                        help="processes for anonymisation, languages and build (default: every core); "
                             "the output is the same for any number")
    args = parser.parse_args(argv)

    parallel.single_threaded_tokenizers()  # the workers use the cores; see prep.parallel
    stages = Stages(IMPORT_SECONDS)
    policy = Policy(**{name: getattr(args, name) for name in Policy.__dataclass_fields__})
    fractions = parse_fractions(args.split)
    tables = load_tables(args.messages, args.stances, policy)
    imported = json.loads(args.import_report.read_text(encoding="utf-8")) if args.import_report else None
    if imported:
        tables.exclusions.items[:0] = imported["exclusions"]  # the import stage's, first
    stages.done("load")
    counter, options = TokenCounter(args.tokenizer), options_from_args(args)
    translator = language.translator_from_args(args)
    identifiers.recognizers(), lexicon()  # built before the workers fork, which share them
    stages.done("setup")
    replaced_strings = Counter()
    tables, pseudonyms, replaced = anonymise(tables, args.workers, replaced_strings)  # before anything is rendered
    pseudonym_map = args.pseudonym_map or private_dir(args.out) / "pseudonyms.json"
    write_pseudonym_map(pseudonym_map, pseudonyms)
    stages.done("anonymise")
    languages = language.process(tables.messages, args.to_simplified, translator, args.workers)
    stages.done("languages")
    assignment, assigned_by = assign(labelled(tables.stances), tables.messages, fractions, args.seed)
    stages.done("split")
    rows, exclusions = build(tables, counter, args.strategy, args.sequence_len,
                             fractions, args.seed, args.over_budget, options, assignment, args.workers)
    stages.done("build")
    report = {
        "settings": {"strategy": args.strategy, "sequence_len": args.sequence_len, "split": args.split,
                     "seed": args.seed, "over_budget": args.over_budget, "policy": asdict(policy),
                     "template_version": prompt.TEMPLATE_VERSION, "tokenizer": str(args.tokenizer),
                     **options.record()},
        "input": {**tables.rows_in, "conversations": len({m["conversation_id"] for m in tables.messages}),
                  "annotators": tables.annotators},
        "splits": {name: split_summary(rows[name], args.sequence_len) for name in SPLITS},
        "to_label": split_summary(rows[TO_LABEL], args.sequence_len),
        "exclusions": {"counts": exclusions.counts(), "items": exclusions.items},
        "split_assignment": {"by": assigned_by, "texts_in_two_splits": shared_texts(tables.messages, assignment)},
        "anonymisation": {"authors": sum(map(len, pseudonyms.values())), "pseudonym_map": str(pseudonym_map),
                          "replaced": replaced, "most_replaced": most_replaced(replaced_strings)},
        "languages": {**languages, "splits": language.language_stats(tables.messages, assignment)},
        "panel": panel_section(tables, policy.annotator_tie),
        "import": imported and {**{k: imported[k] for k in ("importer", "source", "settings", "counts")},
                                "repairs": dict(Counter(r["reason"] for r in imported["repairs"])),
                                "repair_items": imported["repairs"]},
    }
    for name, split_rows in rows.items():
        if split_rows or name != TO_LABEL:  # to_label.jsonl only where some pair is unjudged
            write_jsonl(args.out / f"{name}.jsonl", split_rows)
    for name in ("messages", "stances"):  # pseudonymised, as the rows name contributors: eval joins on these
        write_table(args.out / "tables" / f"{name}.jsonl", getattr(tables, name))
    stages.done("report and write")
    report["timing"] = stages.record(args.workers)
    write_report(args.out, report)
    print((args.out / "prep_report.md").read_text())
    return report


if __name__ == "__main__":
    run_cli(main)
