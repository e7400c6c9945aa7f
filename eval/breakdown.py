"""Where a run goes wrong: metrics per group of pairs, and the human ceiling.

Groups: statement, conversation, language (`meta.language`, written by prep), prompt-length
bucket (`meta.n_tokens`), and the relative position of the contributor's messages in the
conversation (start / middle / end thirds of the chronological order, by the median
message; the lost-in-the-middle check). Position and the human ceiling need the canonical
tables (`prep.schema.load_tables`); the ceiling scores each annotator against the strict
majority of the other annotators on the run's pairs.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median

from eval.metrics import contributor_metrics
from prep.schema import majority

LENGTH_EDGES = (1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)
POSITIONS = ("start", "middle", "end")
SUMMARY = ("n", "gold_yes", "predicted_yes", "invalid", "f1", "precision", "recall", "accuracy")


def length_bucket(n_tokens: int) -> str:
    low = 0
    for edge in LENGTH_EDGES:
        if n_tokens < edge:
            return f"{low}-{edge - 1}"
        low = edge
    return f">={low}"


def position_bucket(relative: float) -> str:
    return POSITIONS[min(int(relative * 3), 2)]


def contributor_positions(messages: list[dict]) -> dict[tuple[str, str], str]:
    """(conversation_id, author) -> bucket of the median relative position of their messages.

    `messages` are chronological within each conversation (as `load_tables` returns them)."""
    by_conversation = defaultdict(list)
    for message in messages:
        by_conversation[message["conversation_id"]].append(message["author"])
    relative = defaultdict(list)
    for conversation_id, authors in by_conversation.items():
        for index, author in enumerate(authors):
            relative[(conversation_id, author)].append((index + 0.5) / len(authors))
    return {key: position_bucket(median(values)) for key, values in relative.items()}


def length_order(bucket: str) -> int:
    return int(bucket.lstrip(">=").split("-")[0])


def group_metrics(pairs: list[dict], key, order=str) -> list[dict]:
    groups = defaultdict(list)
    for pair in pairs:
        groups[key(pair)].append(pair)
    rows = []
    for name in sorted(groups, key=order):
        metrics = contributor_metrics([p["gold"] for p in groups[name]], [p["prediction"] for p in groups[name]])
        rows.append({"group": name, **{k: metrics[k] for k in SUMMARY}})
    return rows


def breakdowns(pairs: list[dict], positions: dict[tuple[str, str], str] | None = None) -> dict[str, list[dict]]:
    """Metrics per group; language only where prep wrote it, position only with the messages table."""
    keys = {
        "statement": (lambda p: p["statement_id"], str),
        "conversation": (lambda p: p["conversation_id"], str),
        "length": (lambda p: length_bucket(p["meta"]["n_tokens"]), length_order),
    }
    if any("n_tokens" not in p["meta"] for p in pairs):
        del keys["length"]
    if all("language" in p["meta"] for p in pairs):
        keys["language"] = (lambda p: p["meta"]["language"], str)
    if positions is not None:
        missing = [p for p in pairs if (p["conversation_id"], p["contributor"]) not in positions]
        if missing:
            raise ValueError(f"{len(missing)} pairs have no messages in the messages table, e.g. "
                             f"{missing[0]['conversation_id']}/{missing[0]['contributor']}")
        keys["position"] = (lambda p: positions[(p["conversation_id"], p["contributor"])], POSITIONS.index)
    return {name: group_metrics(pairs, key, order) for name, (key, order) in keys.items()}


def human_ceiling(pairs: list[dict], stances: list[dict], annotators: list[str]) -> dict | None:
    """Each annotator against the majority of the others, on the run's pairs; None without a panel."""
    if len(annotators) < 3:
        return None
    votes = {(s["conversation_id"], s["statement_id"], s["contributor"]): s for s in stances}
    per_annotator = {}
    for annotator in annotators:
        gold, given, ties = [], [], 0
        for pair in pairs:
            stance = votes.get((pair["conversation_id"], pair["statement_id"], pair["contributor"]))
            if stance is None or stance.get(annotator) is None:
                continue
            reference = majority([stance[a] for a in annotators if a != annotator])
            if reference is None:
                ties += 1
                continue
            gold.append(reference)
            given.append(stance[annotator])
        if gold:
            metrics = contributor_metrics(gold, given)
            per_annotator[annotator] = {**{k: metrics[k] for k in SUMMARY}, "others_tied": ties}
    if not per_annotator:
        return None
    mean = {k: sum(m[k] for m in per_annotator.values()) / len(per_annotator)
            for k in ("f1", "precision", "recall", "accuracy")}
    return {"mean": mean, "annotators": per_annotator,
            "method": "each annotator vs the strict majority of the other annotators (leave-one-out)"}
