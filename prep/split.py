"""Split by conversation, stratified by label rate: no conversation (and so no message) is in
two splits, and each split sees the same spread of yes-rates.

Conversations that share a message text (a cross-posted article, a copied reply) are kept in
one split as a group, so that no text of `min_chars` or more reaches two splits, unless the
group would outgrow the smallest split (boilerplate repeated everywhere): such texts are counted. A given
assignment (official splits, the stances table's `split` column) is used as it is; texts it
leaves in two splits are counted in the report instead.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict

from core.cli import UserError
from prep.prompt import one_line
from prep.tables import SPLIT_COLUMN
from prep.tables import SPLIT_NAMES as SPLITS

MIN_SHARED_CHARS = 20  # shorter texts ("lol", "+1", "同意") are not evidence of a shared source


def parse_fractions(text: str) -> dict[str, float]:
    """'0.6,0.2,0.2' -> {'train': 0.6, 'dev': 0.2, 'test': 0.2}."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != len(SPLITS) or any(v < 0 for v in values) or abs(sum(values) - 1) > 1e-6:
        raise UserError(f"--split needs three non-negative fractions summing to 1, got {text!r}")
    return dict(zip(SPLITS, values))


def _sizes(count: int, fractions: dict[str, float]) -> dict[str, int]:
    """Conversations per split: largest remainder of fraction x count."""
    exact = {name: fractions[name] * count for name in SPLITS}
    sizes = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(SPLITS, key=lambda name: (sizes[name] - exact[name], SPLITS.index(name)))
    for name in by_remainder[:count - sum(sizes.values())]:
        sizes[name] += 1
    return sizes


def text_groups(messages: list[dict], max_group: int, min_chars: int = MIN_SHARED_CHARS) -> dict[str, str]:
    """conversation -> group: conversations that share a message text are one group, as long as
    the group stays within `max_group` conversations. Texts in the fewest conversations link
    first (a cross-posted article); a phrase that would join more (boilerplate, a template)
    is left, and `shared_texts` counts it if it ends up in two splits."""
    conversations = defaultdict(set)
    for message in messages:
        text = one_line(message["text"]).lower()
        if len(text) >= min_chars:
            conversations[text].add(message["conversation_id"])
    group = {m["conversation_id"]: {m["conversation_id"]} for m in messages}
    for text, linked in sorted(conversations.items(), key=lambda item: (len(item[1]), item[0])):
        merged = set().union(*(group[c] for c in linked))
        if len(linked) > 1 and len(merged) <= max_group:
            for conversation_id in merged:
                group[conversation_id] = merged
    return {conversation_id: min(members) for conversation_id, members in sorted(group.items())}


def split_conversations(conversation_ids: list[str], fractions: dict[str, float], seed: int,
                        yes_rates: dict[str, float] | None = None,
                        groups: dict[str, str] | None = None) -> dict[str, str]:
    """Seeded assignment conversation -> split.

    Units (conversations, or groups of them from `text_groups`) are ordered by yes-rate, ties
    broken by a seeded shuffle, and cut into strata of about 1 / smallest fraction units. Within
    a stratum, in seeded order, each unit goes to the split furthest below its share of the
    conversations dealt so far, so every stratum of similar rates gives each split its share.
    Split sizes (in conversations) are exact when no group has more than one conversation."""
    groups = groups or {}
    members = defaultdict(list)
    for conversation_id in sorted(set(conversation_ids)):
        members[groups.get(conversation_id, conversation_id)].append(conversation_id)
    rng = random.Random(seed)
    units = sorted(members)
    rng.shuffle(units)
    rates = {u: sum((yes_rates or {}).get(c, 0.0) for c in members[u]) / len(members[u]) for u in units}
    order = sorted(units, key=rates.__getitem__)  # stable: equal rates keep the seeded order
    total = sum(map(len, members.values()))
    sizes, dealt = _sizes(total, fractions), dict.fromkeys(SPLITS, 0)
    window = math.ceil(1 / min(f for f in fractions.values() if f > 0))
    assignment = {}
    for start in range(0, len(order), window):
        stratum = order[start:start + window]
        rng.shuffle(stratum)
        for unit in stratum:
            size = len(members[unit])
            after = sum(dealt.values()) + size
            room = [s for s in SPLITS if dealt[s] + size <= sizes[s]] or list(SPLITS)
            name = max(room, key=lambda s: (sizes[s] * after / total - dealt[s], -SPLITS.index(s)))
            dealt[name] += size
            assignment.update(dict.fromkeys(members[unit], name))
    return assignment


def given_assignment(stances: list[dict]) -> dict[str, str] | None:
    """The stances table's own conversation -> split (validated consistent), or None."""
    given = {s["conversation_id"]: s[SPLIT_COLUMN] for s in stances if s.get(SPLIT_COLUMN)}
    return given or None


def yes_rates(stances: list[dict]) -> dict[str, float]:
    pairs = defaultdict(list)
    for stance in stances:
        pairs[stance["conversation_id"]].append(stance["label"] == "yes")
    return {c: sum(v) / len(v) for c, v in pairs.items()}


def shared_texts(messages: list[dict], assignment: dict[str, str], min_chars: int = MIN_SHARED_CHARS) -> int:
    """Distinct message texts (of min_chars or more) that appear in more than one split."""
    splits = defaultdict(set)
    for message in messages:
        text = one_line(message["text"]).lower()
        if len(text) >= min_chars and message["conversation_id"] in assignment:
            splits[text].add(assignment[message["conversation_id"]])
    return sum(len(s) > 1 for s in splits.values())


def assign(stances: list[dict], messages: list[dict], fractions: dict[str, float], seed: int) -> tuple[dict[str, str], str]:
    """The input's own assignment when its stances carry one ('given'), else a seeded split
    stratified by yes-rate that keeps text-sharing conversations together ('stratified')."""
    given = given_assignment(stances)
    if given:
        return given, "given"
    conversation_ids = sorted({s["conversation_id"] for s in stances})
    max_group = max(2, int(min(f for f in fractions.values() if f > 0) * len(conversation_ids)))
    groups = text_groups(messages, max_group)
    return split_conversations(conversation_ids, fractions, seed, yes_rates(stances), groups), "stratified"
