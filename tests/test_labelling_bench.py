"""bench.labelling: the strategies' choices by hand, and --quick end to end on IAC (resumable)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import labelling

ROOT = Path(__file__).resolve().parents[1]


def test_next_batch_strategies_by_hand():
    stances = [{"conversation_id": c, "statement_id": "s", "contributor": p}
               for c, p in [("A", "P1"), ("A", "P2"), ("A", "P3"), ("B", "P1"), ("C", "P1"), ("A", "P4")]]
    p_yes = np.array([0.5, 0.52, 0.55, 0.9, 0.8, 0.40])
    unlabelled = np.arange(6)
    rng = np.random.default_rng(0)
    assert list(labelling.next_batch("uncertainty", p_yes, unlabelled, stances, 3, rng)) == [0, 1, 2]
    # spread: at most 2 from A (k=3 over 3 conversations), then the most uncertain elsewhere
    assert list(labelling.next_batch("spread", p_yes, unlabelled, stances, 3, rng)) == [0, 1, 4]
    random = labelling.next_batch("random", p_yes, unlabelled, stances, 3, rng)
    assert len(set(random)) == 3 and set(random) <= set(unlabelled)


def test_labels_to_reach_and_summary_by_hand():
    def rounds(f1s):
        return [{"labels": 100 * (i + 1), "f1": f, "mcc": f / 2, "round_cpu_seconds": 0.1} for i, f in enumerate(f1s)]

    curves = {"random": [rounds([0.2, 0.4, 0.5, 0.6]), rounds([0.3, 0.4, 0.6, 0.6])],
              "uncertainty": [rounds([0.2, 0.6, 0.6, 0.6]), rounds([0.3, 0.6, 0.6, 0.6])]}
    summary = labelling.summarise(curves)
    assert summary["target_f1"] == 0.6 and summary["pool"] == 400
    assert summary["strategies"]["random"]["labels_to_reach_random_final_f1"] == 400
    assert summary["strategies"]["uncertainty"]["labels_to_reach_random_final_f1"] == 200
    assert summary["strategies"]["uncertainty"]["share_of_pool"] == 0.5
    assert summary["strategies"]["random"]["rounds"][0] == {
        "labels": 100, "f1": 0.25, "f1_min": 0.2, "f1_max": 0.3, "mcc": 0.125, "mcc_min": 0.1, "mcc_max": 0.15,
        "round_cpu_seconds": 0.1}
    assert labelling.labels_to_reach(rounds([0.1, 0.2]), 0.5) is None


@pytest.mark.slow
def test_quick_run_end_to_end_and_resumable(tmp_path):
    if not labelling.DATA.is_dir():
        pytest.skip("IAC is not beside the repository (../shared/data/iac-4forums-dev)")
    result = labelling.main(["--quick", "--work", str(tmp_path)])
    written = json.loads((tmp_path / "labelling.json").read_text())
    assert written == json.loads(json.dumps(result)) and (tmp_path / "labelling.png").stat().st_size > 0
    pool, curves = written["pairs"]["pool"], written["curves"]["strategies"]
    settings = labelling.SETTINGS["quick"]
    for strategy in labelling.STRATEGIES:
        labels = [r["labels"] for r in curves[strategy]["rounds"]]
        assert labels[0] == settings["start"] and labels[-1] == pool and all(b - a == settings["step"] for a, b in zip(labels, labels[1:-1]))
        assert curves[strategy]["rounds"][-1]["f1"] == written["curves"]["target_f1"]  # all labels: the same model
    for noise in written["planted_noise"]:
        assert noise["flipped"] == round(labelling.NOISE * pool) and 0 <= noise["flipped_in_worst_10pct"] <= noise["flipped"]
    assert written["panel"]["pairs"] == pool + written["pairs"]["test"]
    saved = {p: p.stat().st_mtime_ns for p in (tmp_path / "rounds").iterdir()}
    again = labelling.main(["--quick", "--work", str(tmp_path)])
    assert again["curves"] == result["curves"] and again["planted_noise"] == result["planted_noise"]
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "rounds").iterdir()} == saved
