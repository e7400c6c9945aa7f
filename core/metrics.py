"""Contributor-level metrics. F1 on the 'yes' class is the headline.

A prediction that is neither yes nor no (e.g. unparseable generation, '[invalid]') is kept
and counted: it is never a predicted 'yes' (so a gold 'yes' becomes a miss) and it is always
wrong for accuracy and MCC (a third class). Nothing is guessed.

Point estimates come from scikit-learn, except MCC: `from_counts` computes every headline
metric from confusion counts, vectorised, for the thousands of bootstrap resamples in
`eval.stats`; its MCC (equal to scikit-learn's, tested) serves the point estimate too.
It lives in core because annotator panels (`prep.panel`) score humans with it as eval scores models.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from core.labels import ANSWERS, INVALID, LABELS, POSITIVE

HEADLINE = ("f1", "precision", "recall", "accuracy", "mcc")


def confusion_counts(gold: list[str], predicted: list[str]) -> np.ndarray:
    """(2, 3) counts: rows gold yes/no, columns predicted yes/no/[invalid]."""
    return confusion_matrix(gold, predicted, labels=list(ANSWERS))[:2]


def contributor_metrics(gold: list[str], predicted: list[str]) -> dict:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("no predictions to score")
    precision, recall, f1, _ = precision_recall_fscore_support(
        gold, predicted, labels=[POSITIVE], average=None, zero_division=0)
    counts = confusion_counts(gold, predicted)
    return {
        "f1": float(f1[0]), "precision": float(precision[0]), "recall": float(recall[0]),
        "accuracy": float(accuracy_score(gold, predicted)),
        "mcc": float(from_counts(counts)["mcc"]),  # = sklearn's matthews_corrcoef (tested), without its one-class warning
        "n": len(gold), "gold_yes": int(sum(g == POSITIVE for g in gold)),
        "predicted_yes": int(sum(p == POSITIVE for p in predicted)),
        "invalid": int(sum(p not in LABELS for p in predicted)),
        "confusion": {"rows_gold": list(LABELS), "cols_predicted": [*LABELS, INVALID],
                      "counts": counts.tolist()},
    }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    return np.divide(numerator, denominator, out=np.zeros(np.broadcast(numerator, denominator).shape),
                     where=denominator > 0)


def from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Headline metrics from (..., 2, 3) confusion counts; MCC is the multiclass (R_K) form."""
    counts = np.asarray(counts, dtype=float)
    tp, fp = counts[..., 0, 0], counts[..., 1, 0]
    fn = counts[..., 0, 1] + counts[..., 0, 2]
    total = counts.sum(axis=(-2, -1))
    correct = tp + counts[..., 1, 1]
    true = counts.sum(axis=-1)  # per gold class (gold is never invalid)
    pred = counts.sum(axis=-2)  # per predicted class
    covariance = correct * total - (true * pred[..., :2]).sum(axis=-1)
    spread = np.sqrt((total ** 2 - (pred ** 2).sum(axis=-1)) * (total ** 2 - (true ** 2).sum(axis=-1)))
    return {"f1": _ratio(2 * tp, 2 * tp + fp + fn), "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
            "accuracy": _ratio(correct, total), "mcc": _ratio(covariance, spread)}
