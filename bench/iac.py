"""IAC (4forums) for bench.quality: prepared once, split two ways by conversation.

The canonical CSVs go through `prep.build` as they are, once per prep variant, every
conversation in one split (a given `split` column: "train"); the two datasets are then cut from
those rows by conversation, so both read the same pseudonymised text:

    iac             every topic, seeded, each topic's conversations 70 / 15 / 15
    iac-new-topic   train and dev (85 / 15) on abortion, gay marriage and gun control; test on
                    existence of god and marijuana: a topic no model here was trained on

A topic is a statement id's prefix (`abortion_choice` -> abortion).
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from pathlib import Path

from core.jsonl import read_jsonl, write_jsonl

SOURCE = Path("../shared/data/iac-4forums-dev")
SEEN_TOPICS = ("abortion", "gaymarriage", "guncontrol")
DATASETS = {"iac": None, "iac-new-topic": SEEN_TOPICS}  # name -> the topics train and dev keep (None: all)
HELD_OUT = 0.15  # of a topic's conversations, for dev and (iac) for test; at least one each


def topic(statement_id: str) -> str:
    return statement_id.split("_", 1)[0]


def one_split_tables(source: Path, out: Path, conversations: int | None) -> tuple[Path, Path]:
    """The canonical tables with every conversation given to "train" (with --quick, the
    `conversations` shortest of each topic); prep.build then renders every pair once."""
    out.mkdir(parents=True, exist_ok=True)
    with open(source / "stances.csv", newline="", encoding="utf-8") as handle:
        stances = list(csv.DictReader(handle))
    kept = None
    if conversations:
        with open(source / "messages.csv", newline="", encoding="utf-8") as handle:
            sizes = Counter(row["conversation_id"] for row in csv.DictReader(handle))
        kept = {c for ids in conversations_by_topic(stances).values()
                for c in sorted(ids, key=lambda c: (sizes[c], c))[:conversations]}
    for name, rows in (("stances", stances), ("messages", None)):
        path = source / f"{name}.csv"
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = rows if rows is not None else reader
            columns = reader.fieldnames + (["split"] if name == "stances" else [])
            with open(out / f"{name}.csv", "w", newline="", encoding="utf-8") as written:
                writer = csv.DictWriter(written, columns)
                writer.writeheader()
                for row in rows:
                    if kept is None or row["conversation_id"] in kept:
                        writer.writerow({**row, "split": "train"} if name == "stances" else row)
    return out / "messages.csv", out / "stances.csv"


def conversations_by_topic(stances: list[dict]) -> dict[str, list[str]]:
    by_topic = defaultdict(set)
    for stance in stances:
        by_topic[topic(stance["statement_id"])].add(stance["conversation_id"])
    return {name: sorted(ids) for name, ids in sorted(by_topic.items())}


def assignment(dataset: str, by_topic: dict[str, list[str]], seed: int) -> dict[str, str]:
    """conversation id -> split: per topic, a seeded shuffle; HELD_OUT of it to dev (and to test on
    `iac`), the rest to train; on iac-new-topic the unseen topics go to test whole."""
    seen = DATASETS[dataset]
    assigned = {}
    for name, ids in by_topic.items():
        ids = list(ids)
        random.Random(f"{seed}/{name}").shuffle(ids)
        if seen is not None and name not in seen:
            assigned.update(dict.fromkeys(ids, "test"))
            continue
        held = max(1, round(HELD_OUT * len(ids)))
        splits = ["dev"] * held + (["test"] * held if seen is None else [])
        assigned.update(zip(ids, splits + ["train"] * (len(ids) - len(splits))))
    return assigned


def split_rows(prepared: Path, out: Path, dataset: str, seed: int) -> Path:
    """DATA/{train,dev,test}.jsonl of `dataset` from one prepared folder (all rows in train.jsonl),
    with its tables beside them (the encoders read each contributor's messages there)."""
    if (out / "test.jsonl").exists():
        return out
    rows = read_jsonl(prepared / "train.jsonl")
    by_topic = defaultdict(set)
    for row in rows:
        by_topic[topic(row["meta"]["statement_id"])].add(row["meta"]["conversation_id"])
    assigned = assignment(dataset, {k: sorted(v) for k, v in sorted(by_topic.items())}, seed)
    out.mkdir(parents=True, exist_ok=True)
    tables = out / "tables"
    if not tables.is_symlink():
        tables.symlink_to((prepared / "tables").resolve())
    for split in ("train", "dev", "test"):
        write_jsonl(out / f"{split}.jsonl", [r for r in rows if assigned[r["meta"]["conversation_id"]] == split])
    return out
