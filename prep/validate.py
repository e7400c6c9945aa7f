"""Validation of the canonical tables (`prep.tables`): what blocks (a `ValidationError` naming
file, row and field) and what is left out and counted (`Exclusions`), as `Policy` says."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core.labels import LABELS
from prep.tables import (
    ANNOTATOR_PREFIX,
    MESSAGE_COLUMNS,
    SPLIT_COLUMN,
    SPLIT_NAMES,
    STANCE_COLUMNS,
    Exclusions,
    Problem,
    Tables,
    ValidationError,
    read_rows,
)
from prep.votes import majority, normalise_label

YEARS = (1990, 2100)  # timestamps outside are typos (CSD has year 0202), not times
# Label spellings seen in annotation exports; only yes/no is accepted, the others name the mix.
VOCABULARIES = {"yes/no": {"yes", "no"}, "y/n": {"y", "n"}, "1/0": {"1", "0"}, "true/false": {"true", "false"},
                "agree/disagree": {"agree", "disagree"}, "favor/against": {"favor", "favour", "against"}}


@dataclass(frozen=True)
class Policy:
    """What to do with recoverable problems: 'error' stops, 'exclude' counts and skips."""

    empty_text: str = "exclude"
    unknown_contributor: str = "exclude"  # a stance whose contributor never posted
    dangling_reply_to: str = "exclude"  # 'exclude' drops the link, keeps the message
    annotator_tie: str = "exclude"  # no strict majority: 'yes' / 'no' break the tie that way
    bad_timestamp: str = "error"  # missing, unparseable or implausible; 'exclude' drops the message
    statement_without_stances: str = "exclude"  # every stance of a statement was excluded

    def __post_init__(self):
        for name, value in self.__dict__.items():
            if value not in self.choices(name):
                raise ValueError(f"policy {name} must be one of {self.choices(name)}, not {value!r}")

    @staticmethod
    def choices(name: str) -> tuple[str, ...]:
        return ("error", "exclude", "yes", "no") if name == "annotator_tie" else ("error", "exclude")


def _require_columns(file: str, rows: list[dict], columns: tuple[str, ...]) -> list[Problem]:
    present = set().union(*(row.keys() for row in rows)) if rows else set()
    if not rows:
        return [Problem(file, None, None, "no rows")]
    return [Problem(file, None, c, "required column is missing") for c in columns if c not in present]


def parse_timestamp(value: str) -> datetime:
    """ISO 8601 within YEARS; ValueError otherwise."""
    timestamp = datetime.fromisoformat(value.strip())
    if not YEARS[0] <= timestamp.year <= YEARS[1]:
        raise ValueError(f"year {timestamp.year} outside {YEARS[0]}-{YEARS[1]}")
    return timestamp


def validate_messages(rows: list[dict], file: str, policy: Policy, exclusions: Exclusions) -> list[dict]:
    problems = _require_columns(file, rows, MESSAGE_COLUMNS)
    if problems:
        raise ValidationError(problems)
    kept, seen = [], {}
    for number, row in enumerate(rows, start=1):
        empty = [Problem(file, number, c, "empty") for c in ("conversation_id", "message_id", "author")
                 if not (row.get(c) or "").strip()]
        if empty:
            problems.extend(empty)
            continue
        key = (row["conversation_id"], row["message_id"])
        if key in seen:
            problems.append(Problem(file, number, "message_id", f"duplicate of row {seen[key]} in conversation {key[0]}"))
            continue
        seen[key] = number
        try:
            timestamp = parse_timestamp(row.get("timestamp") or "")
        except ValueError as error:
            detail = f"not a usable ISO 8601 time: {row.get('timestamp')!r} ({error})"
            if policy.bad_timestamp == "error":
                problems.append(Problem(file, number, "timestamp", detail))
            else:
                exclusions.add("bad_timestamp", file, number, detail, conversation_id=key[0], message_id=key[1])
            continue
        text = (row.get("text") or "").strip()
        if not text:
            if policy.empty_text == "error":
                problems.append(Problem(file, number, "text", "empty message"))
            else:
                exclusions.add("empty_text", file, number, conversation_id=key[0], message_id=key[1])
            continue
        kept.append({**row, "text": text, "timestamp": timestamp.isoformat(), "reply_to": row.get("reply_to") or None, "_row": number})
    problems += _check_time_zones(kept, file)
    if problems:
        raise ValidationError(problems)
    _check_reply_links(kept, file, policy, exclusions)
    return kept


def _check_time_zones(messages: list[dict], file: str) -> list[Problem]:
    """A conversation's times must all carry an offset or all not: mixed, they cannot be ordered."""
    first = {}
    problems = []
    for message in messages:
        aware = datetime.fromisoformat(message["timestamp"]).tzinfo is not None
        seen = first.setdefault(message["conversation_id"], (aware, message["_row"]))
        if seen[0] != aware:
            problems.append(Problem(file, message["_row"], "timestamp",
                                    f"{'has' if aware else 'lacks'} a UTC offset, unlike row {seen[1]} of the same conversation"))
    return problems


def _check_reply_links(messages: list[dict], file: str, policy: Policy, exclusions: Exclusions) -> None:
    ids = {(m["conversation_id"], m["message_id"]) for m in messages}
    problems = []
    for message in messages:
        parent = message["reply_to"]
        if parent is None or (parent != message["message_id"] and (message["conversation_id"], parent) in ids):
            continue
        detail = "replies to itself" if parent == message["message_id"] else f"points to unknown message {parent!r}"
        if policy.dangling_reply_to == "error":
            problems.append(Problem(file, message["_row"], "reply_to", detail))
        else:
            exclusions.add("dangling_reply_to", file, message["_row"], f"{detail}; link dropped",
                           conversation_id=message["conversation_id"], message_id=message["message_id"])
            message["reply_to"] = None
    if problems:
        raise ValidationError(problems)


def _vocabulary_problems(file: str, column: str, values: dict[int, str]) -> list[Problem]:
    """One problem naming the vocabularies when a label column mixes several (yes/no/1/0...)."""
    used = defaultdict(list)
    for number, value in values.items():
        for name, spellings in VOCABULARIES.items():
            if value.strip().lower() in spellings:
                used[name].append(number)
    if len(used) < 2:
        return []
    listed = "; ".join(f"{name} in rows {', '.join(map(str, rows[:5]))}{' …' if len(rows) > 5 else ''}"
                       for name, rows in used.items())
    return [Problem(file, None, column, f"mixes label vocabularies ({listed}); write every label as yes or no")]


def validate_stances(rows: list[dict], file: str, messages: list[dict], policy: Policy,
                     exclusions: Exclusions) -> tuple[list[dict], list[str]]:
    problems = _require_columns(file, rows, STANCE_COLUMNS)
    columns = list(dict.fromkeys(c for row in rows for c in row))
    annotators = [c for c in columns if c.startswith(ANNOTATOR_PREFIX)]
    label_columns = (["label"] if "label" in columns else []) + annotators
    if not problems and not label_columns:
        problems.append(Problem(file, None, "label", f"need a 'label' column or '{ANNOTATOR_PREFIX}*' columns"))
    if problems:
        raise ValidationError(problems)
    for column in label_columns:
        problems += _vocabulary_problems(file, column, {n: r[column] for n, r in enumerate(rows, start=1) if r.get(column)})
    authors = {(m["conversation_id"], m["author"]) for m in messages}
    conversations = {m["conversation_id"] for m in messages}
    kept, seen, statements, splits = [], {}, {}, {}
    for number, row in enumerate(rows, start=1):
        row_problems = [Problem(file, number, c, "empty") for c in STANCE_COLUMNS if not (row.get(c) or "").strip()]
        votes = {}
        for column in label_columns:
            value = normalise_label(row.get(column))
            if value is not None and value not in LABELS:
                row_problems.append(Problem(file, number, column, f"unknown label {value!r} (expected yes or no)"))
            votes[column] = value
        split = (row.get(SPLIT_COLUMN) or "").strip() or None
        if SPLIT_COLUMN in columns and split not in SPLIT_NAMES:
            row_problems.append(Problem(file, number, SPLIT_COLUMN, f"{split!r} is not one of {', '.join(SPLIT_NAMES)}"))
        if row_problems:
            problems.extend(row_problems)
            continue
        key = (row["conversation_id"], row["statement_id"], row["contributor"])
        if key in seen:
            problems.append(Problem(file, number, "contributor", f"duplicate stance of row {seen[key]}"))
            continue
        seen[key] = number
        statement_key = key[:2]
        first_row, text = statements.setdefault(statement_key, (number, row["statement"].strip()))
        if text != row["statement"].strip():
            problems.append(Problem(file, number, "statement", f"differs from row {first_row} for statement {key[1]!r}"))
            continue
        if split is not None:
            first_row, first_split = splits.setdefault(key[0], (number, split))
            if split != first_split:
                problems.append(Problem(file, number, SPLIT_COLUMN,
                                        f"{split!r} but row {first_row} puts conversation {key[0]!r} in {first_split!r}"))
                continue
        if row["conversation_id"] not in conversations:
            problems.append(Problem(file, number, "conversation_id", f"no messages for conversation {row['conversation_id']!r}"))
            continue
        if (row["conversation_id"], row["contributor"]) not in authors:
            if policy.unknown_contributor == "error":
                problems.append(Problem(file, number, "contributor", f"{row['contributor']!r} never posted in {row['conversation_id']!r}"))
            else:
                exclusions.add("unknown_contributor", file, number, row["contributor"], conversation_id=key[0], statement_id=key[1])
            continue
        label = votes.get("label") or majority([votes[a] for a in annotators], policy.annotator_tie)
        unjudged = label is None and not any(votes.values())  # no label, no vote: kept unlabelled (to_label)
        if label is None and not unjudged:
            detail = "no label and no strict annotator majority"
            if policy.annotator_tie == "error":
                problems.append(Problem(file, number, "label", detail))
            else:
                exclusions.add("no_gold_label", file, number, detail, conversation_id=key[0], statement_id=key[1])
            continue
        kept.append({**{c: row[c].strip() for c in STANCE_COLUMNS}, "label": label,
                     **{a: votes[a] for a in annotators}, **({SPLIT_COLUMN: split} if split else {}), "_row": number})
    problems += _statements_without_stances(file, statements, kept, policy, exclusions)
    if problems:
        raise ValidationError(problems)
    return kept, annotators


def _statements_without_stances(file: str, statements: dict, kept: list[dict], policy: Policy,
                                exclusions: Exclusions) -> list[Problem]:
    asked = {(s["conversation_id"], s["statement_id"]) for s in kept}
    problems = []
    for (conversation_id, statement_id), (number, _) in statements.items():
        if (conversation_id, statement_id) in asked:
            continue
        detail = f"statement {statement_id!r} has no usable stance left"
        if policy.statement_without_stances == "error":
            problems.append(Problem(file, number, "statement_id", detail))
        else:
            exclusions.add("statement_without_stances", file, number, detail,
                           conversation_id=conversation_id, statement_id=statement_id)
    return problems


def load_tables(messages_path: str | Path, stances_path: str | Path, policy: Policy = Policy()) -> Tables:
    exclusions = Exclusions()
    message_rows, stance_rows = read_rows(messages_path), read_rows(stances_path)
    messages = validate_messages(message_rows, str(messages_path), policy, exclusions)
    stances, annotators = validate_stances(stance_rows, str(stances_path), messages, policy, exclusions)
    # times with different offsets order by instant; a conversation never mixes offset and none
    messages.sort(key=lambda m: (m["conversation_id"], datetime.fromisoformat(m["timestamp"]), m["_row"]))
    return Tables(messages, stances, annotators, exclusions, {"messages": len(message_rows), "stances": len(stance_rows)})
