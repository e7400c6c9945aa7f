"""CSD (Hong Kong forum threads, Cantonese) -> canonical tables -> prepared JSONL.

    python -m prep.importers.csd --out data/prepared/csd \\
        --tokenizer models/smollm2-135m-instruct --sequence-len 2048 --over-budget exclude

Reads the original spreadsheet (CSD_dataset.xlsx; the CSV export works too) with the
canonical readers. One conversation per thread (info_id): the post (is_post=1, no cmt_id)
and its comments. The statement is the dataset's one target, 接种新冠疫苗; each user of a
thread is a contributor, labelled from their posts' stances (`contributor_label`: 1 = favour,
2 = against, 3 = none). There is no official split: prep.build splits by thread.

The dirt stays visible. Comments without a user are kept, by UNKNOWN_AUTHOR, and the pair is
not formed (counted). A timestamp that is missing or implausible (year 0202) is imputed by
default: the time of the nearest earlier comment of the thread in comment-id order (else the
nearest later one, else the post's), every repair listed with its source row. With
--no-impute-times the value is left to prep.build's --bad-timestamp policy (error or exclude).
Replies to comments that are not in the data are counted by prep.build.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

from core.cli import run_cli
from prep.importers import Imported, contributor_label
from prep.importers import main as import_main
from prep.tables import UNKNOWN_AUTHOR, Problem, ValidationError, read_rows
from prep.validate import parse_timestamp

SOURCE = Path("../shared/data/csd-hk-covid-vaccine/CSD_dataset.xlsx")
STATEMENT_ID = "vaccine"
STATEMENT = "In favour of getting the COVID-19 vaccine (接种新冠疫苗)"
STANCES = {"1": "favour", "2": "against", "3": "none"}
POST_ID = "post"  # the post has no cmt_id; it is the thread's opening message


def usable_time(value: str | None) -> bool:
    try:
        parse_timestamp(value or "")
    except ValueError:
        return False
    return True


def thread_order(row: dict) -> tuple:
    """Comments in id order (numeric ids grow with time; hashed lihkg ids keep file order)."""
    cmt_id = row["cmt_id"] or ""
    return (row["is_post"] != "1", not cmt_id.isdigit(), int(cmt_id) if cmt_id.isdigit() else row["_row"])


def impute_times(thread: list[dict], file: str, imported: Imported) -> None:
    """Give each row of a thread (post first, then comments in order) without a usable time the
    time of the nearest earlier comment, else the nearest later one, else the post's; in place."""
    for position, row in enumerate(thread):
        if usable_time(row["time"]):
            continue
        earlier = [r for r in thread[:position] if r["is_post"] != "1" and usable_time(r["time"])]
        later = [r for r in thread[position + 1:] if usable_time(r["time"])]
        posts = [r for r in thread if r["is_post"] == "1" and usable_time(r["time"])]
        donor = (earlier[-1:] or later[:1] or posts[:1] or [None])[0]
        if donor is None:
            continue  # no usable time in the thread: prep.build's --bad-timestamp policy decides
        reason = "timestamp_missing" if not row["time"] else "timestamp_malformed"
        imported.repairs.add(reason, file, row["_row"], f"{row['time']!r} -> {donor['time']!r} (from row {donor['_row']})",
                             conversation_id=row["info_id"], message_id=row["cmt_id"] or POST_ID)
        row["time"] = donor["time"]


def convert(args) -> Imported:
    file = str(args.source)
    rows = read_rows(args.source)
    problems = [Problem(file, n, "label", f"unknown label {r.get('label')!r} (expected {', '.join(STANCES)})")
                for n, r in enumerate(rows, start=1) if r.get("label") not in STANCES]
    if problems:
        raise ValidationError(problems)
    threads = defaultdict(list)
    for number, row in enumerate(rows, start=1):
        threads[row["info_id"]].append({**row, "_row": number})
    imported = Imported([], [])
    counts = Counter(rows=len(rows), threads=len(threads))
    for thread_id in sorted(threads):
        thread = sorted(threads[thread_id], key=thread_order)
        if args.impute_times:
            impute_times(thread, file, imported)
        labels_by_user = defaultdict(set)
        for row in thread:
            author = row["user_id"] or UNKNOWN_AUTHOR
            imported.messages.append({"conversation_id": thread_id, "message_id": row["cmt_id"] or POST_ID,
                                      "author": author, "timestamp": row["time"], "text": row["text"],
                                      "reply_to": row["parent"]})
            counts["posts_" + STANCES[row["label"]]] += 1
            if author == UNKNOWN_AUTHOR:
                imported.exclusions.add("post_without_user", file, row["_row"], "kept as a message, no contributor pair",
                                        conversation_id=thread_id, message_id=row["cmt_id"] or POST_ID)
                continue
            labels_by_user[author].add(STANCES[row["label"]])
        for user in sorted(labels_by_user):
            labels = labels_by_user[user]
            label = contributor_label(labels, "favour", "against", args.mixed)
            counts["mixed"] += {"favour", "against"} <= labels
            if label is None:
                imported.exclusions.add("mixed_stance", file, None, "favour and against", conversation_id=thread_id,
                                        contributor=user)
                continue
            counts[label] += 1
            imported.stances.append({"conversation_id": thread_id, "statement_id": STATEMENT_ID, "statement": STATEMENT,
                                     "contributor": user, "label": label})
    imported.counts = dict(sorted(counts.items()))
    return imported


def add_arguments(parser) -> None:
    parser.add_argument("--impute-times", action=argparse.BooleanOptionalAction, default=True,
                        help="repair missing or implausible times at import (default); with --no-impute-times "
                             "prep.build's --bad-timestamp error|exclude decides")


def main(argv: list[str] | None = None) -> dict:
    return import_main("csd", convert, __doc__.splitlines()[0], SOURCE, argv, add_arguments)


if __name__ == "__main__":
    run_cli(main)
