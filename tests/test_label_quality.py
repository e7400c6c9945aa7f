"""eval.label_quality: planted wrong labels come first, a careless annotator comes last."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from eval import label_quality
from core.cli import UserError
from tests.conftest import write_jsonl


def test_label_issue_ranking_puts_contradicted_labels_first():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60)
    p_yes = np.where(labels == 1, rng.uniform(0.65, 0.9, 60), rng.uniform(0.1, 0.35, 60))
    flipped = [3, 17, 42]
    p_yes[flipped] = np.where(labels[flipped] == 1, 0.97, 0.03)  # the model is sure of the true label ...
    labels[flipped] = 1 - labels[flipped]  # ... which the panel got wrong
    quality, flagged = label_quality.label_issues(labels, p_yes)
    assert sorted(np.argsort(quality)[:3]) == flipped
    assert set(np.flatnonzero(flagged)) == set(flipped)


def panel(rng, items: int = 120) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Four careful annotators (5% errors) and one who answers at random; 2 to 4 of them per item."""
    truth = rng.integers(0, 2, items)
    votes = pd.DataFrame(np.nan, index=range(items), columns=[f"annotator_{n}" for n in "abcde"])
    for i in range(items):
        for column in rng.choice(votes.columns, rng.integers(2, 5), replace=False):
            careless = column == "annotator_e"
            votes.loc[i, column] = rng.integers(0, 2) if careless else truth[i] ^ (rng.uniform() < 0.05)
    p_yes = np.clip(truth * 0.6 + 0.2 + rng.normal(0, 0.1, items), 0.01, 0.99)
    return votes, p_yes, truth


def test_crowdlab_ranks_the_careless_annotator_last_and_finds_the_truth():
    votes, p_yes, truth = panel(np.random.default_rng(1))
    items, annotators = label_quality.crowdlab(votes, p_yes)
    assert annotators["annotator_quality"].idxmin() == "annotator_e"
    assert (items["consensus_label"].to_numpy() == truth).mean() > 0.95
    with pytest.raises(UserError, match="two annotators"):
        label_quality.crowdlab(votes[["annotator_a"]], p_yes)


def test_cli_writes_the_review_worst_first(tmp_path):
    rng = np.random.default_rng(2)
    votes, p_yes, truth = panel(rng, 60)
    stances, predictions = [], []
    for i, row in votes.iterrows():
        pair = {"conversation_id": f"c{i % 6}", "statement_id": "s1", "contributor": f"P{i:02d}"}
        ballot = {c: ("yes" if v == 1 else "no") for c, v in row.items() if not np.isnan(v)}
        gold = "yes" if truth[i] else "no"
        if i == 7:  # the panel's label contradicts the model and the careful annotators
            gold, ballot = ("no" if truth[i] else "yes"), {c: ("no" if truth[i] else "yes") for c in ballot}
        stances.append({**pair, "statement": "S", "label": gold, **ballot})
        predictions.append({**pair, "gold": gold, "prediction": "no", "p_yes": float(p_yes[i]), "mode": "classifier"})
    (tmp_path / "data" / "tables").mkdir(parents=True)
    write_jsonl(tmp_path / "data" / "tables" / "stances.jsonl", stances)
    run = tmp_path / "run"
    run.mkdir()
    write_jsonl(run / "predictions.jsonl", predictions)
    (run / "run.json").write_text(json.dumps({"data": str(tmp_path / "data" / "test.jsonl")}))
    out = tmp_path / "review.csv"
    label_quality.main([str(run), "--out", str(out)])
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 60 and rows[0]["contributor"] == "P07" and rows[0]["label_issue"] == "True"
    quality = [float(r["consensus_quality"]) for r in rows]
    assert quality == sorted(quality)
    annotators = list(csv.DictReader(out.with_suffix(".annotators.csv").open()))
    worst = min(annotators, key=lambda a: float(a["annotator_quality"]))
    assert worst["annotator"] == "annotator_e"
