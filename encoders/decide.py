"""P(yes) per question -> eval's prediction rows, and the dev F1 that picks checkpoints.

The threshold is eval's own dev tuning (`eval.stats.tune_threshold`, contributor-level F1
after aggregation), so `eval.score --dev-predictions` finds the same one again.
"""

from __future__ import annotations

from core.runs import prediction_row
from encoders.data import Question
from eval.stats import tune_threshold

MODE = "classifier"


def prediction_rows(questions: list[Question], p_yes, threshold: float, message_scores=None) -> list[dict]:
    """Eval's run rows; `message_scores` (one list per question) joins each row as a field."""
    extra = [{} for _ in questions] if message_scores is None else [{"message_scores": m} for m in message_scores]
    return [prediction_row(q.meta, MODE, "yes" if p >= threshold else "no", float(p), **e)
            for q, p, e in zip(questions, p_yes, extra)]


def tuned(questions: list[Question], p_yes, aggregation: str) -> dict:
    """The dev threshold with the best contributor-level F1: {value, dev_f1, candidates}."""
    return tune_threshold(prediction_rows(questions, p_yes, 0.5), aggregation)
