"""Where a run goes wrong: metrics per group of pairs, and the human ceiling.

Groups: statement, conversation, prompt-length bucket (`meta.n_tokens`) and, from the
canonical messages table, the contributor's language (the language most of their messages
are in: the `language` prep's tables carry, else `prep.language.detect`) and the relative position of their messages in the
conversation (start / middle / end thirds of the chronological order, by the median
message; the lost-in-the-middle check). The human ceiling is `prep.panel.human_f1` on the
run's pairs: each annotator against the majority of the others.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from statistics import median

from core.cli import UserError
from core.metrics import contributor_metrics

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


def by_contributor(messages: list[dict]) -> dict[str, dict[tuple[str, str], str]]:
    """(conversation_id, author) -> position bucket and language of their messages.

    `messages` are chronological within each conversation (as `load_tables` returns them)."""
    from prep.language import detect

    relative, languages = defaultdict(list), defaultdict(Counter)
    by_conversation = defaultdict(list)
    for message in messages:
        by_conversation[message["conversation_id"]].append(message)
    unlabelled = [m for m in messages if not m.get("language")]  # prep's tables carry it; raw tables do not
    detected = dict(zip(map(id, unlabelled), detect([m["text"] for m in unlabelled]))) if unlabelled else {}
    for conversation_id, conversation in by_conversation.items():
        for index, message in enumerate(conversation):
            key = (conversation_id, message["author"])
            relative[key].append((index + 0.5) / len(conversation))
            languages[key][message.get("language") or detected[id(message)]] += 1
    return {"position": {key: position_bucket(median(values)) for key, values in relative.items()},
            "language": {key: counts.most_common(1)[0][0] for key, counts in languages.items()}}


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


def breakdowns(pairs: list[dict], contributors: dict[str, dict] | None = None) -> dict[str, list[dict]]:
    """Metrics per group; length where prep wrote n_tokens, language and position with `by_contributor`."""
    keys = {
        "statement": (lambda p: p["statement_id"], str),
        "conversation": (lambda p: p["conversation_id"], str),
    }
    if all("n_tokens" in p["meta"] for p in pairs):
        keys["length"] = (lambda p: length_bucket(p["meta"]["n_tokens"]), length_order)
    if contributors is not None:
        missing = [p for p in pairs if (p["conversation_id"], p["contributor"]) not in contributors["position"]]
        if missing:
            raise UserError(f"{len(missing)} pairs have no messages in the messages table, e.g. "
                            f"{missing[0]['conversation_id']}/{missing[0]['contributor']}")
        keys["language"] = (lambda p: contributors["language"][(p["conversation_id"], p["contributor"])], str)
        keys["position"] = (lambda p: contributors["position"][(p["conversation_id"], p["contributor"])], POSITIONS.index)
    return {name: group_metrics(pairs, key, order) for name, (key, order) in keys.items()}


def human_ceiling(pairs: list[dict], stances: list[dict], annotators: list[str]) -> dict | None:
    """The panel's human-level F1 on the run's pairs; None without a panel of three or more."""
    if len(annotators) < 3:
        return None
    from prep.panel import human_f1

    scored = {(p["conversation_id"], p["statement_id"], p["contributor"]) for p in pairs}
    ceiling = human_f1([s for s in stances if (s["conversation_id"], s["statement_id"], s["contributor"]) in scored],
                       annotators)
    return ceiling if ceiling["per_annotator"] else None
