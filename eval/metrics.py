"""Contributor-level metrics. F1 on the 'yes' class is the headline.

A prediction that is neither yes nor no (e.g. unparseable generation, '[invalid]') is kept
and counted: it is never a predicted 'yes' (so a gold 'yes' becomes a miss) and it is always
wrong for accuracy. Nothing is guessed.
"""

from __future__ import annotations

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

POSITIVE = "yes"
INVALID = "[invalid]"


def contributor_metrics(gold: list[str], predicted: list[str]) -> dict:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("no predictions to score")
    precision, recall, f1, _ = precision_recall_fscore_support(
        gold, predicted, labels=[POSITIVE], average=None, zero_division=0)
    matrix = confusion_matrix(gold, predicted, labels=["yes", "no", INVALID])
    return {
        "f1": float(f1[0]), "precision": float(precision[0]), "recall": float(recall[0]),
        "accuracy": float(accuracy_score(gold, predicted)),
        "n": len(gold), "gold_yes": int(sum(g == POSITIVE for g in gold)),
        "predicted_yes": int(sum(p == POSITIVE for p in predicted)),
        "invalid": int(sum(p not in ("yes", "no") for p in predicted)),
        "confusion": {"rows_gold": ["yes", "no"], "cols_predicted": ["yes", "no", INVALID],
                      "counts": matrix[:2].tolist()},
    }
