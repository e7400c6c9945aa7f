"""Statistics on contributor-level pairs: bootstrap intervals, McNemar, threshold, ranking, calibration.

Pairs of one conversation share a context, so they are not independent: confidence
intervals resample whole conversations (seeded percentile bootstrap, scipy). The decision
threshold on P(yes) is tuned on dev pairs only and then frozen for test.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import bootstrap
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve
from statsmodels.stats.contingency_tables import mcnemar

from core.cli import UserError
from core.labels import ANSWERS, LABELS
from core.metrics import HEADLINE, from_counts
from eval.aggregate import contributor_pairs

N_RESAMPLES = 2000
CONFIDENCE = 0.95
MAX_THRESHOLD_CANDIDATES = 200
RANKING_BLOCK = 1_000_000  # pair weights held at once by the ranking bootstrap (8 MB each array)


def conversation_counts(pairs: list[dict], conversations: list[str]) -> np.ndarray:
    """(conversations, 2, 3) confusion counts (gold yes/no x predicted yes/no/invalid) per conversation."""
    index = {c: i for i, c in enumerate(conversations)}
    counts = np.zeros((len(conversations), len(LABELS), len(ANSWERS)), dtype=int)
    np.add.at(counts, ([index[p["conversation_id"]] for p in pairs], [LABELS.index(p["gold"]) for p in pairs],
                       [ANSWERS.index(p["prediction"]) for p in pairs]), 1)
    return counts


def bootstrap_by_conversation(runs: list[list[dict]], statistic, seed: int = 0) -> dict[str, dict] | None:
    """Percentile CIs over resampled conversations. `statistic` maps the metrics of each run
    (`from_counts` dicts; the runs share their conversations: paired) to named values.
    None with fewer than two conversations."""
    conversations = sorted({p["conversation_id"] for p in runs[0]})
    if len(conversations) < 2:
        return None
    counts = [conversation_counts(pairs, conversations) for pairs in runs]
    names = list(statistic([from_counts(c.sum(axis=0)) for c in counts]))

    def resampled(indices, axis=-1):
        values = statistic([from_counts(c[indices.astype(int)].sum(axis=-3)) for c in counts])
        return np.stack([values[name] for name in names])

    result = bootstrap((np.arange(len(conversations)),), resampled, vectorized=True, n_resamples=N_RESAMPLES,
                       confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(seed))
    return {name: {"low": float(low), "high": float(high), "conversations": len(conversations),
                   "resamples": N_RESAMPLES, "confidence": CONFIDENCE}
            for name, low, high in zip(names, result.confidence_interval.low, result.confidence_interval.high)}


def confidence_intervals(pairs: list[dict], seed: int = 0) -> dict:
    intervals = bootstrap_by_conversation([pairs], lambda m: {name: m[0][name] for name in HEADLINE}, seed)
    return intervals or dict.fromkeys(HEADLINE)


def mcnemar_test(a: list[dict], b: list[dict]) -> dict:
    """Exact (binomial) McNemar below 25 discordant pairs, chi-square with continuity correction above."""
    a_right = [p["prediction"] == p["gold"] for p in a]
    b_right = [p["prediction"] == p["gold"] for p in b]
    table = [[sum(x and y for x, y in zip(a_right, b_right)), sum(x and not y for x, y in zip(a_right, b_right))],
             [sum(y and not x for x, y in zip(a_right, b_right)), sum(not (x or y) for x, y in zip(a_right, b_right))]]
    discordant = table[0][1] + table[1][0]
    exact = discordant < 25
    result = mcnemar(table, exact=exact, correction=True)
    return {"table": table, "rows": "A right / A wrong", "cols": "B right / B wrong", "discordant": discordant,
            "exact": exact, "statistic": float(result.statistic), "p_value": float(result.pvalue)}


def tune_threshold(dev_predictions: list[dict], method: str) -> dict:
    """The P(yes) threshold with the best contributor-level F1 on dev (ties: nearest 0.5)."""
    p_yes = np.array([p["p_yes"] for p in dev_predictions if p.get("p_yes") is not None])
    if len(p_yes) < len(dev_predictions):
        raise UserError("threshold tuning needs P(yes) on every dev prediction (loglik mode)")
    candidates = np.unique(p_yes)
    if len(candidates) > MAX_THRESHOLD_CANDIDATES:
        candidates = np.unique(np.quantile(p_yes, np.linspace(0, 1, MAX_THRESHOLD_CANDIDATES)))
    best = None
    for threshold in [0.5, *candidates.tolist()]:
        pairs = contributor_pairs(dev_predictions, method, threshold)
        f1 = float(from_counts(conversation_counts(pairs, sorted({p["conversation_id"] for p in pairs})).sum(axis=0))["f1"])
        key = (f1, -abs(threshold - 0.5))
        if best is None or key > best[0]:
            best = (key, threshold)
    return {"value": float(best[1]), "dev_f1": float(best[0][0]), "candidates": int(len(candidates)) + 1}


def weighted_roc_auc(yes: np.ndarray, p_yes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC per row of `weights` (each row: how many times each pair counts, 0 to leave it out):
    P(a gold-yes pair scores above a gold-no pair), ties counting half; NaN where a row holds one
    label. One sort serves every row, so a whole bootstrap costs a few array passes."""
    order = np.argsort(p_yes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(p_yes[order]) != 0])  # groups of tied scores
    weights = weights[:, order]
    yes_by_score = np.add.reduceat(weights * yes[order], starts, axis=1)
    no_by_score = np.add.reduceat(weights * ~yes[order], starts, axis=1)
    no_below = np.cumsum(no_by_score, axis=1) - no_by_score
    wins = (yes_by_score * (no_below + 0.5 * no_by_score)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return wins / (yes_by_score.sum(axis=1) * no_by_score.sum(axis=1))


def ranking(pairs: list[dict], seed: int = 0) -> dict | None:
    """Threshold-free: ROC AUC of pair P(yes) (0.5: no ranking at all) with a percentile CI over
    resampled conversations, average precision (whose floor is the yes-rate), and the F1 of the
    threshold best on these very pairs: not a result (that threshold saw the gold) but the most any
    tuning could get from this ranking. They tell a model that ranks but whose dev threshold does
    not carry over (tuned F1 well under the best) from one whose ranking is what limits F1.
    None without P(yes) or without both labels; resamples with one label are skipped and counted."""
    if any(p["p_yes"] is None for p in pairs):
        return None
    yes = np.array([p["gold"] == "yes" for p in pairs])
    p_yes = np.array([p["p_yes"] for p in pairs], dtype=float)
    if yes.all() or not yes.any():
        return None
    first_seen: dict[str, int] = {}
    pair_conversation = np.array([first_seen.setdefault(p["conversation_id"], len(first_seen)) for p in pairs])
    n = len(first_seen)
    resamples = N_RESAMPLES if n > 1 else 0
    drawn = np.random.default_rng(seed).integers(n, size=(resamples, n))
    times_drawn = np.zeros((resamples, n))
    np.add.at(times_drawn, (np.repeat(np.arange(resamples), n), drawn.ravel()), 1)
    block = max(1, RANKING_BLOCK // len(pairs))  # resamples per pass: bounds memory on large runs
    values = np.concatenate([weighted_roc_auc(yes, p_yes, times_drawn[start:start + block][:, pair_conversation])
                             for start in range(0, resamples, block)] or [np.array([])])
    values = values[~np.isnan(values)]
    low, high = np.percentile(values, [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)]) if len(values) else (None, None)
    return {"roc_auc": float(weighted_roc_auc(yes, p_yes, np.ones((1, len(pairs))))[0]),
            "average_precision": float(average_precision_score(yes, p_yes)),
            "f1_best_threshold": best_threshold_f1(yes, p_yes),
            "roc_auc_ci": None if low is None else {
                "low": float(low), "high": float(high), "conversations": n, "resamples": len(values),
                "skipped_one_label": N_RESAMPLES - len(values), "confidence": CONFIDENCE}}


def best_threshold_f1(yes: np.ndarray, p_yes: np.ndarray) -> float:
    """The highest F1 of "yes" at P(yes) >= t over every threshold t (t at or below the lowest: always-yes)."""
    precision, recall, _ = precision_recall_curve(yes, p_yes)
    with np.errstate(invalid="ignore"):
        return float(np.nanmax(2 * precision * recall / (precision + recall)))


def calibration(pairs: list[dict], bins: int = 10) -> dict | None:
    """Brier score and reliability curve of pair P(yes) (uniform bins); None without P(yes)."""
    if any(p["p_yes"] is None for p in pairs):
        return None
    y = np.array([p["gold"] == "yes" for p in pairs], dtype=int)
    prob = np.array([p["p_yes"] for p in pairs])
    prob_true, prob_pred = calibration_curve(y, prob, n_bins=bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], prob), minlength=bins)
    return {"brier": float(brier_score_loss(y, prob)), "bins": bins,
            "reliability": {"mean_predicted": prob_pred.tolist(), "fraction_yes": prob_true.tolist(),
                            "count": counts[counts > 0].tolist()}}
