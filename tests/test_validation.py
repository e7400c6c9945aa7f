"""The bad-input corpus (tests/bad_inputs/<kind>/) and the four table formats.

Each kind holds a messages and a stances table and a case.json listing runs: a policy and
either the problems expected (file, row, field, part of the message) or the exclusion counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from prep.tables import ValidationError, read_rows
from prep.validate import Policy, load_tables

CORPUS = Path(__file__).parent / "bad_inputs"
KINDS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def run_case(folder: Path, run: dict):
    messages = next(folder.glob("messages.*"))
    stances = next(folder.glob("stances.*"))
    return load_tables(messages, stances, Policy(**run.get("policy", {})))


def test_corpus_has_at_least_twenty_kinds():
    assert len(KINDS) >= 20


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_is_reported_or_counted(kind):
    folder = CORPUS / kind
    runs = json.loads((folder / "case.json").read_text())["runs"]
    for run in runs:
        if "error" in run:
            with pytest.raises(ValidationError) as caught:
                run_case(folder, run)
            problems = caught.value.problems
            for expected in run["error"]:
                assert any(Path(p.file).name == expected["file"] and p.row == expected["row"] and p.field == expected["field"]
                           and expected["contains"] in p.message for p in problems), (expected, problems)
        else:
            tables = run_case(folder, run)
            assert tables.exclusions.counts() == run["exclusions"]
            for item in tables.exclusions.items:  # every exclusion says where
                assert item["file"].endswith(("messages.csv", "messages.jsonl", "stances.csv", "stances.jsonl"))
                assert item["row"] is not None


def test_every_policy_flag_has_a_kind_run_both_ways():
    """Each recoverable problem stops under 'error' and is counted under the other choice."""
    cases = {kind: json.loads((CORPUS / kind / "case.json").read_text())["runs"] for kind in KINDS}
    for name in Policy.__dataclass_fields__:
        kinds = [kind for kind, runs in cases.items()
                 if any(run.get("policy", {}).get(name) == "error" and "error" in run for run in runs)]
        assert any(any("exclusions" in run for run in cases[kind]) for kind in kinds), name


def write_formats(messages: Path, stances: Path, folder: Path, suffix: str) -> tuple[Path, Path]:
    out = []
    for path in (messages, stances):
        frame = pd.DataFrame(read_rows(path))
        target = folder / f"{path.stem}.{suffix}"
        frame.to_parquet(target) if suffix == "parquet" else frame.to_excel(target, index=False) if suffix == "xlsx" \
            else frame.to_csv(target, index=False)
        out.append(target)
    return out[0], out[1]


@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx"])
def test_formats_load_to_the_same_tables(tiny_tables, tmp_path, suffix):
    reference = load_tables(*tiny_tables)
    tables = load_tables(*write_formats(*tiny_tables, tmp_path, suffix))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "_row"} for r in rows]  # noqa: E731
    assert strip(tables.messages) == strip(reference.messages)
    assert strip(tables.stances) == strip(reference.stances)
    assert tables.annotators == reference.annotators == ["annotator_1", "annotator_2", "annotator_3"]


def test_spreadsheet_cells_are_read_as_text(tmp_path):
    """Excel stores ids as numbers and times as dates; the reader gives the canonical text."""
    from datetime import datetime

    pd.DataFrame({"conversation_id": [7], "message_id": [529446513], "author": ["Bob"],
                  "timestamp": [datetime(2021, 3, 11, 16, 45)], "text": ["hi"], "empty": [None]}).to_excel(tmp_path / "m.xlsx", index=False)
    assert read_rows(tmp_path / "m.xlsx") == [{"conversation_id": "7", "message_id": "529446513", "author": "Bob",
                                              "timestamp": "2021-03-11T16:45:00", "text": "hi", "empty": None}]


def test_missing_column_in_parquet_names_file_and_field(tiny_tables, tmp_path):
    messages, stances = write_formats(*tiny_tables, tmp_path, "parquet")
    pd.read_parquet(messages).drop(columns=["author"]).to_parquet(messages)
    with pytest.raises(ValidationError) as caught:
        load_tables(messages, stances)
    assert [(Path(p.file).name, p.field) for p in caught.value.problems] == [("messages.parquet", "author")]


@pytest.mark.parametrize("suffix", ["parquet", "xlsx"])
def test_damaged_binary_file_is_a_clear_error(tmp_path, suffix):
    path = tmp_path / f"messages.{suffix}"
    path.write_bytes(b"not a real file")
    with pytest.raises(ValidationError, match=f"not a readable {suffix.upper() if suffix == 'xlsx' else 'Parquet'} file"):
        read_rows(path)


def test_offsets_order_by_instant(tmp_path):
    """09:30+08:00 is 01:30 UTC, before 02:00Z: order by instant, not by the text."""
    from tests.conftest import write_jsonl

    keys = ("conversation_id", "message_id", "author", "timestamp", "text")
    messages = write_jsonl(tmp_path / "m.jsonl", [dict(zip(keys, r)) for r in [
        ("c", "late", "A", "2024-01-01T02:00:00+00:00", "second"), ("c", "early", "B", "2024-01-01T09:30:00+08:00", "first")]])
    stances = write_jsonl(tmp_path / "s.jsonl", [{"conversation_id": "c", "statement_id": "s", "statement": "x",
                                                  "contributor": "A", "label": "yes"}])
    assert [m["message_id"] for m in load_tables(messages, stances).messages] == ["early", "late"]
