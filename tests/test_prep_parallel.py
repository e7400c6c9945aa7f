"""prep.build on worker processes: the same bytes whatever the number of workers, each stage's
seconds in the report, and no torch, transformers or statsmodels loaded on the way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.jsonl import write_jsonl
from prep import build
from prep.synth import generate_long

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["imports", "load", "setup", "anonymise", "languages", "split", "build", "report and write"]


@pytest.fixture(scope="module")
def long_tables(tmp_path_factory) -> tuple[Path, Path]:
    """Four generated threads (two long enough to be cut) with identifiers and name-words planted."""
    folder = tmp_path_factory.mktemp("long")
    messages, stances, _ = generate_long(3, 4, 60_000, 12, ["start", "middle", "end"])
    messages[5]["text"] += " call me at 9123 4567 or see [QUOTE=x;612345] at Blk 5 Road, the ratio is 1.66666667"
    write_jsonl(folder / "messages.jsonl", messages)
    write_jsonl(folder / "stances.jsonl", stances)
    return folder / "messages.jsonl", folder / "stances.jsonl"


def run(tables: tuple[Path, Path], model_dir: Path, out: Path, workers: int, strategy: str, layout: str) -> dict:
    return build.main(["--messages", str(tables[0]), "--stances", str(tables[1]), "--tokenizer", str(model_dir),
                       "--strategy", strategy, "--layout", layout, "--sequence-len", "2048", "--over-budget", "exclude",
                       "--out", str(out), "--workers", str(workers)])


def files(out: Path) -> dict[str, bytes]:
    found = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    report = json.loads(found.pop("prep_report.json"))
    report.pop("timing")
    report["anonymisation"].pop("pseudonym_map")  # where the map went: beside each out folder
    found["prep_report.json"] = json.dumps(report).encode()
    found["prep_report.md"] = b"\n".join(line for line in found["prep_report.md"].splitlines()
                                         if not line.startswith((b"Seconds (", b"Anonymised:")))
    found["pseudonyms.json"] = (out.parent / f"{out.name}.private" / "pseudonyms.json").read_bytes()
    return found


@pytest.mark.parametrize("strategy, layout", [("focus", "pair"), ("snippets", "multi")])
def test_output_is_byte_identical_with_one_and_two_workers(long_tables, model_dir, tmp_path, strategy, layout):
    reports = {workers: run(long_tables, model_dir, tmp_path / f"w{workers}", workers, strategy, layout) for workers in (1, 2)}
    one, two = files(tmp_path / "w1"), files(tmp_path / "w2")
    assert sorted(one) == sorted(two) and {"train.jsonl", "dev.jsonl", "test.jsonl", "tables/messages.jsonl"} <= set(one)
    assert [name for name in one if one[name] != two[name]] == []
    assert sum(s["samples"] for s in reports[1]["splits"].values()) > 20
    messages = (tmp_path / "w2" / "tables" / "messages.jsonl").read_text(encoding="utf-8")
    assert "<SG_PHONE>" in messages and "612345" in messages and "1.66666667" in messages
    for workers, report in reports.items():
        assert report["timing"]["workers"] == workers
        assert list(report["timing"]["seconds"]) == list(report["timing"]["cpu_seconds"]) == STAGES


def test_prep_loads_neither_torch_nor_transformers_nor_statsmodels(tiny_tables, model_dir, tmp_path):
    """What makes a fresh `python -m prep.build` start in seconds (torch alone takes ten); the
    panel's statistics load only for a panel of annotators."""
    stances = [json.loads(line) for line in tiny_tables[1].read_text(encoding="utf-8").splitlines()]
    write_jsonl(tmp_path / "stances.jsonl", [{**{k: v for k, v in s.items() if not k.startswith("annotator_")},
                                              "label": s["annotator_1"]} for s in stances])
    code = ("import sys; from prep import build; build.main(sys.argv[1:]); "
            "print([m for m in ('torch', 'transformers', 'statsmodels', 'sklearn') if m in sys.modules])")
    args = ["--messages", str(tiny_tables[0]), "--stances", str(tmp_path / "stances.jsonl"), "--tokenizer", str(model_dir),
            "--sequence-len", "1024", "--split", "0.5,0.5,0", "--out", str(tmp_path / "out"), "--workers", "2"]
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
