"""Question-level predictions -> one decision per (conversation, statement, contributor) pair.

A pair asked once (the 'full' strategy) keeps its answer. A pair asked once per snippet
(one of the contributor's messages with its context, `meta.message_id`) is decided by:

  any-yes   yes if any snippet says yes (the contributor said it somewhere)
  majority  yes if more than half of the snippets say yes
  max-prob  yes if the highest snippet P(yes) reaches the threshold (needs P(yes))

An invalid snippet answer is never guessed: the pair is '[invalid]' when its invalid
snippets could change the decision, and decided otherwise. The pair's P(yes) is the highest
snippet P(yes) (what max-prob thresholds); calibration is read on it.
"""

from __future__ import annotations

from collections import defaultdict

from core.cli import UserError
from core.labels import INVALID, LABELS
from core.runs import PAIR_KEYS, pair_key

AGGREGATIONS = ("any-yes", "majority", "max-prob")


def decide(p_yes: float | None, prediction: str, threshold: float | None) -> str:
    """A question's answer: thresholded P(yes) where a threshold is set and P(yes) known, else
    the prediction as made; anything but yes/no (unparsed text) is '[invalid]'."""
    if threshold is None or p_yes is None:
        return prediction if prediction in LABELS else INVALID
    return "yes" if p_yes >= threshold else "no"


def combine(answers: list[str], p_yes: list[float | None], method: str, threshold: float) -> str:
    yes, invalid, n = answers.count("yes"), answers.count(INVALID), len(answers)
    if method == "any-yes":
        return "yes" if yes else INVALID if invalid else "no"
    if method == "majority":
        return "yes" if yes > n / 2 else "no" if yes + invalid <= n / 2 else INVALID
    if method == "max-prob":
        if any(p is None for p in p_yes):
            raise UserError("max-prob aggregation needs P(yes) on every prediction (loglik mode)")
        return "yes" if max(p_yes) >= threshold else "no"
    raise ValueError(f"aggregation must be one of {AGGREGATIONS}, not {method!r}")


def contributor_pairs(predictions: list[dict], method: str = "any-yes", threshold: float | None = None) -> list[dict]:
    """One row per pair, in first-seen order: ids, gold, prediction, p_yes, snippets, meta (first snippet's)."""
    grouped = defaultdict(list)
    for row in predictions:
        grouped[pair_key(row)].append(row)
    pairs = []
    for key, rows in grouped.items():
        golds = {r["gold"] for r in rows}
        if len(golds) > 1:
            raise UserError(f"pair {key} has conflicting gold labels {sorted(golds)} across its predictions")
        p_yes = [r.get("p_yes") for r in rows]
        answers = [decide(p, r["prediction"], threshold) for p, r in zip(p_yes, rows)]
        known = [p for p in p_yes if p is not None]
        pairs.append({
            **dict(zip(PAIR_KEYS, key)), "gold": golds.pop(),
            "prediction": combine(answers, p_yes, method, 0.5 if threshold is None else threshold),
            "p_yes": max(known) if len(known) == len(p_yes) else None,
            "snippets": len(rows), "invalid_snippets": answers.count(INVALID), "meta": rows[0].get("meta", {}),
        })
    return pairs
