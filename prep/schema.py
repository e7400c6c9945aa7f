"""The canonical input contract: a messages table and a stances table, validated.

messages: conversation_id, message_id, author, timestamp, text, [reply_to]
stances:  conversation_id, statement_id, statement, contributor, and `label` and/or
          one `annotator_<name>` column per annotator (values: yes / no), [split]

Both tables may be CSV, JSONL, Parquet or XLSX (first sheet). Every problem is either a
`ValidationError` naming file, row and field, or an exclusion counted in the `Exclusions`
ledger that ends up in the prep report. The choice between the two is made by `Policy`,
never silently. Rows are numbered from 1 in file order (for CSV and XLSX the header is
line 1, so data row N is line N+1).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from prep.cli import UserError

MESSAGE_COLUMNS = ("conversation_id", "message_id", "author", "timestamp", "text")
STANCE_COLUMNS = ("conversation_id", "statement_id", "statement", "contributor")
ANNOTATOR_PREFIX = "annotator_"
LABELS = ("yes", "no")
INVALID = "[invalid]"  # an answer that is neither label (e.g. an unparseable generation): scored, never guessed
ANSWERS = (*LABELS, INVALID)
SPLIT_COLUMN = "split"  # optional: a given conversation -> split assignment (e.g. official splits)
SPLIT_NAMES = ("train", "dev", "test")
UNKNOWN_AUTHOR = "[unknown]"  # a post whose author the source does not give (deleted, anonymous)
YEARS = (1990, 2100)  # timestamps outside are typos (CSD has year 0202), not times
# Label spellings seen in annotation exports; only yes/no is accepted, the others name the mix.
VOCABULARIES = {"yes/no": {"yes", "no"}, "y/n": {"y", "n"}, "1/0": {"1", "0"}, "true/false": {"true", "false"},
                "agree/disagree": {"agree", "disagree"}, "favor/against": {"favor", "favour", "against"}}


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None  # None: the problem is with the file or its header
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}: row {self.row}"
        return f"{where}, field '{self.field}': {self.message}" if self.field else f"{where}: {self.message}"


class ValidationError(UserError):
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


@dataclass
class Tables:
    messages: list[dict]
    stances: list[dict]  # each with a gold `label`
    annotators: list[str]  # annotator column names, in file order
    exclusions: Exclusions
    rows_in: dict[str, int]  # rows read per table, before any exclusion


def read_rows(path: str | Path) -> list[dict]:
    """Read CSV, JSONL, Parquet or XLSX into dicts of string values (None for missing)."""
    path = Path(path)
    suffix = path.suffix.lower()
    readers = {".jsonl": _read_jsonl, ".ndjson": _read_jsonl, ".csv": _read_csv, ".parquet": _read_parquet,
               ".xlsx": _read_xlsx}
    if suffix not in readers:
        raise ValidationError([Problem(str(path), None, None, f"unsupported file type '{suffix}' (use {', '.join(readers)})")])
    if not path.is_file():
        raise ValidationError([Problem(str(path), None, None, "file not found")])
    return readers[suffix](path)


def write_jsonl(path: str | Path, rows) -> None:
    """One JSON object per line, UTF-8, "\\n" line ends: byte-identical across runs. The one JSONL writer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_table(path: str | Path, rows: list[dict]) -> None:
    """Rows as canonical JSONL, without the bookkeeping keys that start with '_'."""
    write_jsonl(path, ({k: v for k, v in row.items() if not k.startswith("_")} for row in rows))


def _decode(path: Path) -> str:
    """UTF-8 text (a leading BOM, as Excel writes, is dropped); undecodable bytes are kept as
    surrogate escapes so that `_check_cells` can name the row and field they are in."""
    return path.read_bytes().decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")


_UNDECODABLE = re.compile("[\udc80-\udcff]")  # the surrogate escapes `_decode` leaves for bytes that are not UTF-8


def _check_cells(file: str, rows: list[dict]) -> list[Problem]:
    try:  # one pass over everything, the usual case: escapes do not encode
        "".join(value for row in rows for value in row.values() if value).encode("utf-8")
        return []
    except UnicodeEncodeError:
        pass
    problems = []
    for number, row in enumerate(rows, start=1):
        for column, value in row.items():
            bad = _UNDECODABLE.search(value or "")
            if bad:
                problems.append(Problem(file, number, column, f"not valid UTF-8 (byte 0x{ord(bad.group()) - 0xDC00:02X})"))
    return problems


def _cell(value) -> str | None:
    """One typed cell (JSON, Parquet, Excel) as text; None for empty. Nested values raise TypeError."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # ids stored as numbers by spreadsheets
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        raise TypeError(f"a nested {type(value).__name__} where text is expected")
    return str(value)


def _typed_rows(file: str, records: list[dict]) -> list[dict]:
    rows, problems = [], []
    for number, record in enumerate(records, start=1):
        row = {}
        for column, value in record.items():
            try:
                row[column] = _cell(value)
            except TypeError as error:
                problems.append(Problem(file, number, column, str(error)))
        rows.append(row)
    if problems:
        raise ValidationError(problems)
    return rows


def _header_problems(file: str, header: list) -> list[Problem]:
    names = [str(h).strip() if h is not None else "" for h in header]
    problems = [Problem(file, None, None, f"header cell {i} is empty") for i, n in enumerate(names, start=1) if not n]
    problems += [Problem(file, None, n, f"column appears {c} times in the header")
                 for n, c in Counter(names).items() if n and c > 1]
    return problems


def _table_rows(file: str, header: list, body: list[list]) -> list[dict]:
    """Header + data rows (lists) -> dicts; ragged rows and header faults are problems."""
    problems = _header_problems(file, header)
    if problems:
        raise ValidationError(problems)
    rows = []
    for number, values in enumerate(body, start=1):
        if len(values) < len(header) or any(v is not None for v in values[len(header):]):  # None: unused sheet cells
            problems.append(Problem(file, number, None, f"{len(values)} fields but the header has {len(header)}"))
            continue
        rows.append(dict(zip((str(h).strip() for h in header), values)))
    if problems:
        raise ValidationError(problems)
    return rows


def _read_csv(path: Path) -> list[dict]:
    lines = [row for row in csv.reader(io.StringIO(_decode(path), newline=""))]
    if not lines:
        return []
    body = [row for row in lines[1:] if row]  # csv gives [] for a blank line
    rows = [{k: (v if v != "" else None) for k, v in row.items()} for row in _table_rows(str(path), lines[0], body)]
    problems = _check_cells(str(path), rows)
    if problems:
        raise ValidationError(problems)
    return rows


def _read_jsonl(path: Path) -> list[dict]:
    records, problems = [], []
    for number, line in enumerate(_decode(path).splitlines(), start=1):
        if not line.strip():
            problems.append(Problem(str(path), number, None, "blank line"))
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(Problem(str(path), number, None, f"not valid JSON ({error.msg})"))
            continue
        if not isinstance(record, dict):
            problems.append(Problem(str(path), number, None, "a JSON object is required"))
            continue
        records.append(record)
    if problems:
        raise ValidationError(problems)
    rows = _typed_rows(str(path), records)
    problems = _check_cells(str(path), rows)
    if problems:
        raise ValidationError(problems)
    return rows


def _read_parquet(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise ValidationError([Problem(str(path), None, None, f"not a readable Parquet file ({error})")]) from error
    return _typed_rows(str(path), table.to_pylist())


def _read_xlsx(path: Path) -> list[dict]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several types for a damaged file
        raise ValidationError([Problem(str(path), None, None, f"not a readable XLSX file ({error})")]) from error
    lines = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    lines = [row for row in lines if any(v is not None and v != "" for v in row)]
    if not lines:
        return []
    while lines[0] and lines[0][-1] is None:  # trailing empty header cells of a formatted sheet
        lines[0].pop()
    return _typed_rows(str(path), _table_rows(str(path), lines[0], lines[1:]))


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
        if label is None:
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


def majority(votes: list[str | None], tie: str = "exclude") -> str | None:
    """Strict majority of the votes present. A tie goes to `tie` when that is a label ('yes' or
    'no'), else None; None too when nobody voted."""
    counts = Counter(v for v in votes if v is not None)
    if not counts:
        return None
    (top, n), *rest = counts.most_common()
    if rest and rest[0][1] == n:
        return tie if tie in LABELS else None
    return top


def load_tables(messages_path: str | Path, stances_path: str | Path, policy: Policy = Policy()) -> Tables:
    exclusions = Exclusions()
    message_rows, stance_rows = read_rows(messages_path), read_rows(stances_path)
    messages = validate_messages(message_rows, str(messages_path), policy, exclusions)
    stances, annotators = validate_stances(stance_rows, str(stances_path), messages, policy, exclusions)
    # times with different offsets order by instant; a conversation never mixes offset and none
    messages.sort(key=lambda m: (m["conversation_id"], datetime.fromisoformat(m["timestamp"]), m["_row"]))
    return Tables(messages, stances, annotators, exclusions, {"messages": len(message_rows), "stances": len(stance_rows)})
