"""From votes to a gold label: the canonical spelling of a label and the strict majority of a panel."""

from __future__ import annotations

from collections import Counter

from core.labels import LABELS


def normalise_label(value: str | None) -> str | None:
    """Canonical yes/no; None when absent. Anything else is the caller's error to report."""
    if value is None or not value.strip():
        return None
    label = value.strip().lower()
    return label if label in LABELS else value


def majority(votes: list[str | None], tie: str = "exclude") -> str | None:
    """Strict majority of the votes present. A tie goes to `tie` when that is a label ('yes' or
    'no'), else None; None too when nobody voted."""
    counts = Counter(v for v in votes if v is not None)
    if not counts:
        return None
    (top, n), *rest = counts.most_common()
    if rest and rest[0][1] == n:
        return tie if tie in LABELS else None
    return top
