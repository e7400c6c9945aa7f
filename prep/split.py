"""Split by conversation: no conversation (and so no message) is in two splits."""

from __future__ import annotations

import random

SPLITS = ("train", "dev", "test")


def parse_fractions(text: str) -> dict[str, float]:
    """'0.6,0.2,0.2' -> {'train': 0.6, 'dev': 0.2, 'test': 0.2}."""
    values = [float(v) for v in text.split(",")]
    if len(values) != len(SPLITS) or any(v < 0 for v in values) or abs(sum(values) - 1) > 1e-6:
        raise ValueError(f"--split needs three non-negative fractions summing to 1, got {text!r}")
    return dict(zip(SPLITS, values))


def split_conversations(conversation_ids: list[str], fractions: dict[str, float], seed: int) -> dict[str, str]:
    """Seeded assignment conversation -> split; sizes by largest remainder of fraction x count."""
    ids = sorted(set(conversation_ids))
    random.Random(seed).shuffle(ids)
    exact = {name: fractions[name] * len(ids) for name in SPLITS}
    sizes = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(SPLITS, key=lambda name: (sizes[name] - exact[name], SPLITS.index(name)))
    for name in by_remainder[:len(ids) - sum(sizes.values())]:
        sizes[name] += 1
    assignment, start = {}, 0
    for name in SPLITS:
        for conversation_id in ids[start:start + sizes[name]]:
            assignment[conversation_id] = name
        start += sizes[name]
    return assignment
