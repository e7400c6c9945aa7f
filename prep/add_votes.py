"""A filled-in labelling queue back into the stances table, as one annotator's votes.

    python -m prep.add_votes --stances stances.csv --filled queue_alice.csv --annotator alice --out stances.csv

The queue (`python -m eval.queue`) names each pair by conversation_id, statement_id and
contributor (its `contributor_name` when the queue could read the pseudonym map: the stances
table holds names, prep's output pseudonyms). Each `vote` the annotator wrote (yes / no) goes
into column `annotator_<name>` of that pair's row; a blank vote leaves the pair as it was
(counted). A vote for a pair the table lacks, or anything but yes / no, is an error naming the
file, row and field. The next `prep.build` takes the votes' strict majority as the label.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from core.cli import UserError, run_cli
from prep.tables import ANNOTATOR_PREFIX, read_rows, write_table
from prep.votes import normalise_label

KEYS = ("conversation_id", "statement_id", "contributor")


def read_votes(path: Path) -> tuple[dict[tuple[str, str, str], str], int]:
    """(conversation_id, statement_id, contributor) -> yes/no from a filled queue, and the blank rows."""
    votes, blank = {}, 0
    for number, row in enumerate(read_rows(path), start=1):
        value = normalise_label(row.get("vote"))
        if value is None:
            blank += 1
            continue
        if value not in ("yes", "no"):
            raise UserError(f"{path}: row {number}, field 'vote': {value!r} is not yes or no")
        key = (row["conversation_id"], row["statement_id"], row.get("contributor_name") or row["contributor"])
        if votes.get(key, value) != value:
            raise UserError(f"{path}: row {number}: a second, different vote for {key}")
        votes[key] = value
    return votes, blank


def add_votes(stances: list[dict], votes: dict[tuple[str, str, str], str], annotator: str, where: str) -> list[dict]:
    """The stances with the votes in `annotator_<annotator>`; every vote must find its pair."""
    column = ANNOTATOR_PREFIX + annotator
    index = {tuple(s[k] for k in KEYS): i for i, s in enumerate(stances)}
    unknown = [key for key in votes if key not in index]
    if unknown:
        raise UserError(f"{where}: {len(unknown)} voted pairs are not in the stances table, e.g. {unknown[0]}")
    rows = [{**s, column: s.get(column)} for s in stances]
    for key, value in votes.items():
        rows[index[key]][column] = value
    return rows


def write_rows(path: Path, rows: list[dict]) -> None:
    """CSV or JSONL by the file's suffix."""
    if path.suffix.lower() == ".jsonl":
        write_table(path, rows)
        return
    if path.suffix.lower() != ".csv":
        raise UserError(f"{path}: write the stances as .csv or .jsonl")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows({k: v if v is not None else "" for k, v in row.items()} for row in rows)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stances", required=True, type=Path)
    parser.add_argument("--filled", required=True, type=Path, help="the queue CSV with the `vote` column filled in")
    parser.add_argument("--annotator", required=True, help="the name for the column annotator_<name>")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    if not args.annotator.strip() or any(c in args.annotator for c in ", \t\n"):
        raise UserError(f"--annotator {args.annotator!r}: one word, used in the column name")
    votes, blank = read_votes(args.filled)
    rows = add_votes(read_rows(args.stances), votes, args.annotator, str(args.filled))
    write_rows(args.out, rows)
    print(f"{len(votes)} votes of {args.annotator} added, {blank} queue rows left blank -> {args.out}")
    return rows


if __name__ == "__main__":
    run_cli(main)
