"""The canonical input contract: a messages table and a stances table, validated.

messages: conversation_id, message_id, author, timestamp, text, [reply_to]
stances:  conversation_id, statement_id, statement, contributor, and `label` and/or
          one `annotator_<name>` column per annotator (values: yes / no)

Every problem is either a `ValidationError` naming file, row and field, or an exclusion
counted in the `Exclusions` ledger that ends up in the prep report. The choice between
the two is made by `Policy`, never silently. Rows are numbered from 1 in file order
(for CSV the header is line 1, so data row N is line N+1).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

MESSAGE_COLUMNS = ("conversation_id", "message_id", "author", "timestamp", "text")
STANCE_COLUMNS = ("conversation_id", "statement_id", "statement", "contributor")
ANNOTATOR_PREFIX = "annotator_"
LABELS = ("yes", "no")


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None  # None: the problem is with the file or its header
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}: row {self.row}"
        return f"{where}, field '{self.field}': {self.message}" if self.field else f"{where}: {self.message}"


class ValidationError(ValueError):
    """All blocking problems of one input, reported together so one run shows them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n  ".join(str(p) for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} validation problem(s):\n  {shown}{more}")


@dataclass
class Exclusions:
    """Ledger of everything left out, with reason and location, for the prep report."""

    items: list[dict] = field(default_factory=list)

    def add(self, reason: str, file: str, row: int | None, detail: str = "", **ids) -> None:
        self.items.append({"reason": reason, "file": file, "row": row, "detail": detail, **ids})

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(item["reason"] for item in self.items).items()))


@dataclass(frozen=True)
class Policy:
    """What to do with recoverable problems: 'error' stops, 'exclude' counts and skips."""

    empty_text: str = "exclude"
    unknown_contributor: str = "exclude"  # a stance whose contributor never posted
    dangling_reply_to: str = "exclude"  # 'exclude' drops the link, keeps the message
    annotator_tie: str = "exclude"  # no strict majority among the annotators present

    def __post_init__(self):
        for name, value in self.__dict__.items():
            if value not in ("error", "exclude"):
                raise ValueError(f"policy {name} must be 'error' or 'exclude', not {value!r}")


@dataclass
class Tables:
    messages: list[dict]
    stances: list[dict]  # each with a gold `label`
    annotators: list[str]  # annotator column names, in file order
    exclusions: Exclusions
    rows_in: dict[str, int]  # rows read per table, before any exclusion


def read_rows(path: str | Path) -> list[dict]:
    """Read CSV or JSONL into a list of dicts with string values (None for missing)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    if suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in frame.to_dict("records")]
    raise ValidationError([Problem(str(path), None, None, f"unsupported file type '{suffix}' (use .csv or .jsonl)")])


def _read_jsonl(path: Path) -> list[dict]:
    rows, problems = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                problems.append(Problem(str(path), number, None, "blank line"))
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(Problem(str(path), number, None, f"not valid JSON ({error.msg})"))
                continue
            if not isinstance(row, dict):
                problems.append(Problem(str(path), number, None, "a JSON object is required"))
                continue
            rows.append({k: (None if v is None else str(v)) for k, v in row.items()})
    if problems:
        raise ValidationError(problems)
    return rows


def _require_columns(file: str, rows: list[dict], columns: tuple[str, ...]) -> list[Problem]:
    present = set().union(*(row.keys() for row in rows)) if rows else set()
    if not rows:
        return [Problem(file, None, None, "no rows")]
    return [Problem(file, None, c, "required column is missing") for c in columns if c not in present]


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.strip())


def normalise_label(value: str | None) -> str | None:
    """Canonical yes/no; None when absent. Anything else is the caller's error to report."""
    if value is None or not value.strip():
        return None
    label = value.strip().lower()
    return label if label in LABELS else value


def validate_messages(rows: list[dict], file: str, policy: Policy, exclusions: Exclusions) -> list[dict]:
    problems = _require_columns(file, rows, MESSAGE_COLUMNS)
    if problems:
        raise ValidationError(problems)
    kept, seen = [], {}
    for number, row in enumerate(rows, start=1):
        for column in ("conversation_id", "message_id", "author", "timestamp"):
            if not (row.get(column) or "").strip():
                problems.append(Problem(file, number, column, "empty"))
        if problems and problems[-1].row == number:
            continue
        key = (row["conversation_id"], row["message_id"])
        if key in seen:
            problems.append(Problem(file, number, "message_id", f"duplicate of row {seen[key]} in conversation {key[0]}"))
            continue
        seen[key] = number
        try:
            timestamp = parse_timestamp(row["timestamp"])
        except ValueError:
            problems.append(Problem(file, number, "timestamp", f"not an ISO 8601 time: {row['timestamp']!r}"))
            continue
        text = (row.get("text") or "").strip()
        if not text:
            if policy.empty_text == "error":
                problems.append(Problem(file, number, "text", "empty message"))
            else:
                exclusions.add("empty_text", file, number, conversation_id=key[0], message_id=key[1])
            continue
        kept.append({**row, "text": text, "timestamp": timestamp.isoformat(), "reply_to": row.get("reply_to") or None, "_row": number})
    if problems:
        raise ValidationError(problems)
    _check_reply_links(kept, file, policy, exclusions)
    return kept


def _check_reply_links(messages: list[dict], file: str, policy: Policy, exclusions: Exclusions) -> None:
    ids = {(m["conversation_id"], m["message_id"]) for m in messages}
    problems = []
    for message in messages:
        parent = message["reply_to"]
        if parent is None or (message["conversation_id"], parent) in ids:
            continue
        if policy.dangling_reply_to == "error":
            problems.append(Problem(file, message["_row"], "reply_to", f"points to unknown message {parent!r}"))
        else:
            exclusions.add("dangling_reply_to", file, message["_row"], f"link to {parent!r} dropped",
                           conversation_id=message["conversation_id"], message_id=message["message_id"])
            message["reply_to"] = None
    if problems:
        raise ValidationError(problems)


def validate_stances(rows: list[dict], file: str, messages: list[dict], policy: Policy,
                     exclusions: Exclusions) -> tuple[list[dict], list[str]]:
    problems = _require_columns(file, rows, STANCE_COLUMNS)
    columns = list(rows[0].keys()) if rows else []
    annotators = [c for c in columns if c.startswith(ANNOTATOR_PREFIX)]
    if not problems and "label" not in columns and not annotators:
        problems.append(Problem(file, None, "label", f"need a 'label' column or '{ANNOTATOR_PREFIX}*' columns"))
    if problems:
        raise ValidationError(problems)
    authors = {(m["conversation_id"], m["author"]) for m in messages}
    conversations = {m["conversation_id"] for m in messages}
    kept, seen = [], {}
    for number, row in enumerate(rows, start=1):
        row_problems = [Problem(file, number, c, "empty") for c in STANCE_COLUMNS if not (row.get(c) or "").strip()]
        votes = {}
        for column in (["label"] if "label" in columns else []) + annotators:
            value = normalise_label(row.get(column))
            if value is not None and value not in LABELS:
                row_problems.append(Problem(file, number, column, f"unknown label {value!r} (expected yes or no)"))
            votes[column] = value
        if row_problems:
            problems.extend(row_problems)
            continue
        key = (row["conversation_id"], row["statement_id"], row["contributor"])
        if key in seen:
            problems.append(Problem(file, number, "contributor", f"duplicate stance of row {seen[key]}"))
            continue
        seen[key] = number
        if row["conversation_id"] not in conversations:
            problems.append(Problem(file, number, "conversation_id", f"no messages for conversation {row['conversation_id']!r}"))
            continue
        if (row["conversation_id"], row["contributor"]) not in authors:
            if policy.unknown_contributor == "error":
                problems.append(Problem(file, number, "contributor", f"{row['contributor']!r} never posted in {row['conversation_id']!r}"))
            else:
                exclusions.add("unknown_contributor", file, number, row["contributor"], conversation_id=key[0], statement_id=key[1])
            continue
        label = votes.get("label") or majority([votes[a] for a in annotators])
        if label is None:
            detail = "no label and no strict annotator majority"
            if policy.annotator_tie == "error":
                problems.append(Problem(file, number, "label", detail))
            else:
                exclusions.add("no_gold_label", file, number, detail, conversation_id=key[0], statement_id=key[1])
            continue
        kept.append({**{c: row[c].strip() for c in STANCE_COLUMNS}, "label": label,
                     **{a: votes[a] for a in annotators}, "_row": number})
    if problems:
        raise ValidationError(problems)
    return kept, annotators


def majority(votes: list[str | None]) -> str | None:
    """Strict majority of the votes present; None on a tie or when nobody voted."""
    counts = Counter(v for v in votes if v is not None)
    if not counts:
        return None
    (top, n), *rest = counts.most_common()
    return None if rest and rest[0][1] == n else top


def load_tables(messages_path: str | Path, stances_path: str | Path, policy: Policy = Policy()) -> Tables:
    exclusions = Exclusions()
    message_rows, stance_rows = read_rows(messages_path), read_rows(stances_path)
    messages = validate_messages(message_rows, str(messages_path), policy, exclusions)
    stances, annotators = validate_stances(stance_rows, str(stances_path), messages, policy, exclusions)
    messages.sort(key=lambda m: (m["conversation_id"], m["timestamp"], m["_row"]))
    return Tables(messages, stances, annotators, exclusions, {"messages": len(message_rows), "stances": len(stance_rows)})
