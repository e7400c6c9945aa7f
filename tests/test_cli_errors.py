"""Errors a user can fix end a command with their message and exit status 2, never a traceback;
bugs keep theirs.

Every CLI runs on bad input in one child interpreter, each as `python -m` runs it (runpy, as
__main__), so the heavy imports (torch, transformers, scikit-learn) are paid once; the light
generator also runs as a real `python -m` process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import UserError, run_cli

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
BAD_MESSAGES = ("conversation_id,message_id,author,timestamp,text\n"
                "c1,m1,Alice,2024-03-01T09:00:00+08:00,Hello\n"
                "c1,m2,,2024-03-01T09:05:00+08:00,Hi\n"
                "c1,m3,Bob,yesterday,Hey\n")
GOOD_MESSAGES = BAD_MESSAGES.replace(",,", ",Chen,").replace("yesterday", "2024-03-01T09:07:00+08:00")
STANCES = "conversation_id,statement_id,statement,contributor,label\nc1,s1,S,Alice,yes\n"
# Cases named by their command, in run order: each module before anything imports it
# (prep.panel before prep.build, eval.score before eval.compare), as `python -m` finds it.
CASES = ["prep.synth", "prep.panel", "prep.build", "prep.build --tokenizer", "prep.importers.csd",
         "prep.importers.rumoureval", "eval.score", "eval.compare", "eval.api_baseline", "eval.predict"]
VALIDATION = ["error: 2 validation problem(s):", "messages.csv: row 2, field 'author': empty",
              "messages.csv: row 3, field 'timestamp': not a usable ISO 8601 time: 'yesterday'"]

# Runs each (case, argv) with the case's module as __main__ and writes
# {case: {status, stderr}} to a JSON file.
DRIVER = r"""
import contextlib, io, json, runpy, sys, traceback
cases, out, results = json.loads(sys.argv[1]), sys.argv[2], {}
for case, argv in cases:
    module = case.split()[0]
    stderr = io.StringIO()
    sys.argv = [module, *argv]
    with contextlib.redirect_stderr(stderr):
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            status = 0
        except SystemExit as done:
            status = done.code
        except BaseException:
            traceback.print_exc()
            status = 1
    results[case] = {"status": status, "stderr": stderr.getvalue()}
with open(out, "w") as handle:
    json.dump(results, handle)
"""


def cases(folder: Path) -> dict[str, tuple[list[str], list[str]]]:
    """case: (arguments, what stderr must say)."""
    (folder / "messages.csv").write_text(BAD_MESSAGES, encoding="utf-8")
    (folder / "good_messages.csv").write_text(GOOD_MESSAGES, encoding="utf-8")
    (folder / "stances.csv").write_text(STANCES, encoding="utf-8")
    row = {"conversation_id": "c1", "statement_id": "s1", "contributor": "Alice", "prediction": "yes", "mode": "api"}
    (folder / "no_gold.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    for run in ("run_a", "run_b"):
        (folder / run).mkdir()
    tables = ["--messages", str(folder / "messages.csv"), "--stances", str(folder / "stances.csv")]
    missing = folder / "missing"
    build = ["--stances", str(folder / "stances.csv"), "--tokenizer", str(missing), "--sequence-len", "512",
             "--out", str(folder / "out")]
    source = [["--source", str(missing), "--out", str(folder / "out")],
              [f"error: {missing}: not found (--source: the dataset as downloaded)"]]
    return {
        "prep.synth": (["long", "--out", str(folder / "synth"), "--chars", "1000"],
                       ["error: chars must be at least 50000"]),
        "prep.panel": (tables, VALIDATION),
        "prep.build": (["--messages", str(folder / "messages.csv"), *build], VALIDATION),
        "prep.build --tokenizer": (["--messages", str(folder / "good_messages.csv"), *build],
                                   [f"error: --tokenizer {missing}: "]),
        "prep.importers.csd": source,
        "prep.importers.rumoureval": source,
        "eval.score": (["--predictions", str(folder / "no_gold.jsonl")],
                       [f"error: {folder / 'no_gold.jsonl'}: row 1, field 'gold': missing"]),
        "eval.compare": ([str(folder / "run_a"), str(folder / "run_b")],
                         [f"error: {folder / 'run_a' / 'metrics.json'}: score the run first"]),
        "eval.api_baseline": (["--config", str(missing), "--data", str(missing), "--out", str(folder / "p.jsonl")],
                              [f"error: {missing}: config file not found"]),
        "eval.predict": (["--model", str(missing), "--data", str(missing), "--out", str(folder / "p.jsonl")],
                         [f"error: {missing}: file not found"]),
    }


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> tuple[dict, dict]:
    folder = tmp_path_factory.mktemp("cli")
    expected = cases(folder)
    results = folder / "results.json"
    assert sorted(expected) == sorted(CASES)
    argv = json.dumps([[case, expected[case][0]] for case in CASES])
    subprocess.run([sys.executable, "-c", DRIVER, argv, str(results)], cwd=ROOT, env=ENV, check=True, timeout=600)
    return expected, json.loads(results.read_text())


@pytest.mark.parametrize("case", CASES)
def test_user_error_exits_2_with_its_message(outcomes, case):
    expected, results = outcomes
    result = results[case]
    assert "Traceback" not in result["stderr"], result["stderr"]
    assert result["status"] == 2, result
    for line in expected[case][1]:
        assert line in result["stderr"]


def test_a_real_process_prints_only_the_message(tmp_path):
    done = subprocess.run([sys.executable, "-m", "prep.synth", "long", "--out", str(tmp_path), "--authors", "3"],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr, done.stdout) == (2, "error: authors must be at least 10\n", "")
    assert not any(tmp_path.iterdir())


def test_bugs_keep_their_traceback(capsys):
    def broken() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        run_cli(broken)

    def bad_input() -> None:
        raise UserError("bad input")

    with pytest.raises(SystemExit) as done:
        run_cli(bad_input)
    assert done.value.code == 2 and capsys.readouterr().err == "error: bad input\n"
