"""The canonical input contract: a messages table and a stances table, read from any format.

messages: conversation_id, message_id, author, timestamp, text, [reply_to]
stances:  conversation_id, statement_id, statement, contributor, and `label` and/or
          one `annotator_<name>` column per annotator (values: yes / no), [split]; a row with
          neither a label nor a vote is a pair nobody has judged yet (kept for the to_label set)

Both tables may be CSV, JSONL, Parquet or XLSX (first sheet). Every problem is either a
`ValidationError` naming file, row and field, or an exclusion counted in the `Exclusions`
ledger that ends up in the prep report (`prep.validate` decides which, by `Policy`). Rows are
numbered from 1 in file order (for CSV and XLSX the header is line 1, so data row N is line N+1).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from core.cli import UserError
from core.jsonl import write_jsonl

MESSAGE_COLUMNS = ("conversation_id", "message_id", "author", "timestamp", "text")
STANCE_COLUMNS = ("conversation_id", "statement_id", "statement", "contributor")
ANNOTATOR_PREFIX = "annotator_"
SPLIT_COLUMN = "split"  # optional: a given conversation -> split assignment (e.g. official splits)
SPLIT_NAMES = ("train", "dev", "test")
UNKNOWN_AUTHOR = "[unknown]"  # a post whose author the source does not give (deleted, anonymous)


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


@dataclass
class Tables:
    messages: list[dict]
    stances: list[dict]  # each with a gold `label`, None for a pair nobody has judged yet (to_label)
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

