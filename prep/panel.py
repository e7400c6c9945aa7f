"""Annotator panels: agreement and the human-level F1 that models are compared with.

    python -m prep.panel --stances data/demo/stances.jsonl --messages data/demo/messages.jsonl

The gold label is the strict majority of the annotators present (`schema.majority`); a tie
follows the tie policy: 'exclude' (no gold), 'yes' or 'no'. Agreement is Fleiss' kappa
(statsmodels; items every annotator labelled) and Krippendorff's alpha (krippendorff,
nominal; missing votes allowed). Human-level F1, with the metrics eval scores models with
(`core.metrics`), so that a model's F1 against the full-panel majority can be read against it,
by one of two estimators:

    per-annotator  each annotator column against the majority of the other columns, averaged
                   over columns: right for a fixed panel (the same people on every item)
    pooled         every vote against the majority of the other votes on its item (ties
                   skipped), micro-averaged over all votes: right where a column is not one
                   person (a crowd, where `annotator_7` differs from row to row); a sparse
                   column then weighs by its votes, not as much as a full one

The report gives both and names the one that applies: per-annotator when every column holds a
vote on at least FIXED_PANEL_COVERAGE of the items (a fixed panel), else pooled.
"""

from __future__ import annotations

import argparse
import json

import krippendorff
import numpy as np
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from core.cli import run_cli
from core.labels import LABELS
from core.metrics import contributor_metrics
from prep.validate import Policy, load_tables
from prep.votes import majority

FIXED_PANEL_COVERAGE = 0.9


def vote_matrix(stances: list[dict], annotators: list[str]) -> np.ndarray:
    """items x annotators: 1 yes, 0 no, nan missing."""
    codes = {"yes": 1.0, "no": 0.0}
    return np.array([[codes.get(s.get(a), np.nan) for a in annotators] for s in stances], dtype=float)


def agreement(stances: list[dict], annotators: list[str]) -> dict:
    votes = vote_matrix(stances, annotators)
    complete = votes[~np.isnan(votes).any(axis=1)].astype(int)
    counts, _ = aggregate_raters(complete, n_cat=len(LABELS)) if len(complete) else (None, None)
    return {
        "annotators": len(annotators), "items": len(stances), "items_complete": len(complete),
        "fleiss_kappa": round(float(fleiss_kappa(counts)), 4) if len(complete) else None,
        "krippendorff_alpha": round(float(krippendorff.alpha(reliability_data=votes.T, level_of_measurement="nominal")), 4),
        "unanimous": int(sum(len(set(row)) == 1 for row in complete.tolist())),
    }


def human_f1(stances: list[dict], annotators: list[str], tie: str = "exclude") -> dict:
    """Each annotator against the majority of the others; the mean F1 is the human level."""
    per_annotator = {}
    for annotator in annotators:
        others = [a for a in annotators if a != annotator]
        gold, predicted = [], []
        for stance in stances:
            reference = majority([stance.get(a) for a in others], tie)
            if reference is not None and stance.get(annotator) is not None:
                gold.append(reference)
                predicted.append(stance[annotator])
        if gold:
            scores = contributor_metrics(gold, predicted)
            per_annotator[annotator] = {k: scores[k] for k in ("f1", "precision", "recall", "accuracy", "n")}
    f1s = [s["f1"] for s in per_annotator.values()]
    return {"tie": tie, "per_annotator": per_annotator, "mean_f1": round(float(np.mean(f1s)), 4) if f1s else None}


def pooled_f1(stances: list[dict], annotators: list[str], tie: str = "exclude") -> dict:
    """Every vote against the majority of the other votes on its item, micro-averaged over votes."""
    gold, predicted = [], []
    for stance in stances:
        votes = [stance.get(a) for a in annotators if stance.get(a) is not None]
        for index, vote in enumerate(votes):
            reference = majority(votes[:index] + votes[index + 1:], tie)
            if reference is not None:
                gold.append(reference)
                predicted.append(vote)
    if not gold:
        return {"tie": tie, "votes": 0, "f1": None}
    scores = contributor_metrics(gold, predicted)
    return {"tie": tie, "votes": len(gold), **{k: scores[k] for k in ("f1", "precision", "recall", "accuracy", "mcc")}}


def applicable_estimator(stances: list[dict], annotators: list[str]) -> str:
    """per-annotator for a fixed panel (every column votes on nearly every item), else pooled."""
    coverage = min(sum(s.get(a) is not None for s in stances) / max(len(stances), 1) for a in annotators)
    return "per-annotator" if coverage >= FIXED_PANEL_COVERAGE else "pooled"


def human_level(stances: list[dict], annotators: list[str], tie: str = "exclude") -> dict:
    """Both estimators, and which applies: {"estimator", "f1", "per_annotator", "pooled"}."""
    per_annotator, pooled = human_f1(stances, annotators, tie), pooled_f1(stances, annotators, tie)
    estimator = applicable_estimator(stances, annotators)
    return {"estimator": estimator, "f1": per_annotator["mean_f1"] if estimator == "per-annotator" else pooled["f1"],
            "per_annotator": per_annotator, "pooled": pooled}


def panel_report(stances: list[dict], annotators: list[str], tie: str = "exclude") -> dict | None:
    """Agreement and human F1 for the report; None when there is no panel (fewer than two annotators)."""
    if len(annotators) < 2:
        return None
    gold = [majority([s.get(a) for a in annotators], tie) for s in stances]
    level = human_level(stances, annotators, tie)
    return {**agreement(stances, annotators), "majority_ties": sum(g is None for g in gold),
            "human": level["per_annotator"], "human_level": level}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", required=True)
    parser.add_argument("--stances", required=True)
    parser.add_argument("--tie", choices=Policy.choices("annotator_tie"), default="exclude")
    args = parser.parse_args(argv)
    tables = load_tables(args.messages, args.stances, Policy(annotator_tie="yes"))  # every voted item, ties too
    report = panel_report(tables.stances, tables.annotators, args.tie)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    run_cli(main)
