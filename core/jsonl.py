"""The one JSONL reader and writer: byte-identical output across runs, errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path

from core.cli import UserError


def read_jsonl(path: str | Path) -> list[dict]:
    """Rows of an input file; a missing file or a line that is not JSON is the user's to fix."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise UserError(f"{path}: line {number}: not JSON ({error.msg})") from None
    return rows


def write_jsonl(path: str | Path, rows) -> None:
    """One JSON object per line, UTF-8, "\\n" line ends: byte-identical across runs. The one JSONL writer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
