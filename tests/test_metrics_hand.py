"""Contributor-level metrics against a hand computation on a fixed prediction file."""

from pathlib import Path

import json
import pytest

from eval import score

FIXTURE = Path(__file__).parent / "fixtures" / "predictions_small.jsonl"


def test_metrics_match_hand_computation(tmp_path):
    # By hand from the file: TP = 3, FN = 1, FP = 1, TN = 4, and one unparseable answer ('maybe') on a gold 'no'.
    metrics = score.main(["--predictions", str(FIXTURE), "--out", str(tmp_path)])
    assert metrics["precision"] == pytest.approx(3 / 4)
    assert metrics["recall"] == pytest.approx(3 / 4)
    assert metrics["f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert metrics["accuracy"] == pytest.approx(7 / 10)  # the invalid answer is never counted right
    assert metrics["invalid"] == 1
    assert metrics["confusion"]["counts"] == [[3, 1, 0], [1, 4, 1]]
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert "| 0.750 |" in (tmp_path / "report.md").read_text()


def test_missing_gold_label_is_an_error():
    with pytest.raises(ValueError, match="gold label"):
        score.score([{"gold": "maybe", "prediction": "yes"}])
