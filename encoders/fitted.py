"""What every encoder's `fit` returns: a scorer, its dev P(yes), and what dev chose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from encoders.data import Question


@dataclass
class Fitted:
    p_yes: Callable[[list[Question]], np.ndarray]  # P(yes) per question, in order
    dev_p_yes: np.ndarray  # the chosen model's dev scores (threshold tuning needs no second pass)
    chosen: dict  # what dev picked (epoch, pooling, regularisation, ...)
    history: list[dict] = field(default_factory=list)  # every candidate's dev F1
    model: Any = None  # the trained model, for callers that inspect or save it
    # per question, the contributor's messages by their best window's P(yes) (encoders reading messages)
    message_scores: Callable[[list[Question]], list[list[dict]]] | None = None
