"""Where a run goes wrong: metrics per group of pairs, and the human ceiling.

Groups: statement, conversation, prompt-length bucket (`meta.n_tokens`) and, from the
canonical messages table, the contributor's language (the language most of their messages
are in: the `language` prep's tables carry, else `prep.language.detect`) and the relative position of their messages in the
conversation (start / middle / end thirds of the chronological order, by the median
message; the lost-in-the-middle check), the conversation's length in characters (sum of its
message texts: under 20K, 20-80K, 80-200K, over 200K) and the contributor's own message count
(1, 2-5, 6+); the two length groups carry F1 and MCC with 95% CIs (bootstrap by conversation).
The human ceiling is `prep.panel.human_level` on the run's pairs: every annotator (fixed panel)
or every vote (a crowd) against the majority of the others, with the estimator that applies.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from statistics import median

from core.cli import UserError
from core.metrics import contributor_metrics
from eval.stats import confidence_intervals

LENGTH_EDGES = (1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)
POSITIONS = ("start", "middle", "end")
CONVERSATION_CHARS = ((20_000, "<20K"), (80_000, "20-80K"), (200_000, "80-200K"), (None, ">200K"))  # bound excluded
MESSAGE_COUNTS = ((1, "1"), (5, "2-5"), (None, "6+"))  # bound included
LENGTH_GROUPS = {"conversation_chars": CONVERSATION_CHARS, "contributor_messages": MESSAGE_COUNTS}
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


def bucket(value: int, edges: tuple) -> str:
    """The first bucket whose bound the value stays under (characters) or reaches (message counts)."""
    below = edges is CONVERSATION_CHARS
    return next(name for bound, name in edges if bound is None or (value < bound if below else value <= bound))


def by_contributor(messages: list[dict]) -> dict[str, dict[tuple[str, str], str]]:
    """(conversation_id, author) -> position bucket and language of their messages.

    `messages` are chronological within each conversation (as `load_tables` returns them)."""
    from prep.language import detect

    relative, languages, chars = defaultdict(list), defaultdict(Counter), Counter()
    by_conversation = defaultdict(list)
    for message in messages:
        by_conversation[message["conversation_id"]].append(message)
    unlabelled = [m for m in messages if not m.get("language")]  # prep's tables carry it; raw tables do not
    detected = dict(zip(map(id, unlabelled), detect([m["text"] for m in unlabelled]))) if unlabelled else {}
    for conversation_id, conversation in by_conversation.items():
        chars[conversation_id] = sum(len(m["text"]) for m in conversation)
        for index, message in enumerate(conversation):
            key = (conversation_id, message["author"])
            relative[key].append((index + 0.5) / len(conversation))
            languages[key][message.get("language") or detected[id(message)]] += 1
    return {"position": {key: position_bucket(median(values)) for key, values in relative.items()},
            "language": {key: counts.most_common(1)[0][0] for key, counts in languages.items()},
            "conversation_chars": {key: bucket(chars[key[0]], CONVERSATION_CHARS) for key in relative},
            "contributor_messages": {key: bucket(len(values), MESSAGE_COUNTS) for key, values in relative.items()}}


def length_order(bucket: str) -> int:
    return int(bucket.lstrip(">=").split("-")[0])


def group_metrics(pairs: list[dict], key, order=str, with_ci: bool = False) -> list[dict]:
    groups = defaultdict(list)
    for pair in pairs:
        groups[key(pair)].append(pair)
    rows = []
    for name in sorted(groups, key=order):
        metrics = contributor_metrics([p["gold"] for p in groups[name]], [p["prediction"] for p in groups[name]])
        rows.append({"group": name, **{k: metrics[k] for k in SUMMARY + (("mcc",) if with_ci else ())}})
        if with_ci:
            ci = confidence_intervals(groups[name])
            rows[-1]["ci"] = {k: ci[k] for k in ("f1", "mcc")}
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
        for name, edges in LENGTH_GROUPS.items():
            keys[name] = (lambda p, name=name: contributors[name][(p["conversation_id"], p["contributor"])],
                          [label for _, label in edges].index)
    return {name: group_metrics(pairs, key, order, with_ci=name in LENGTH_GROUPS) for name, (key, order) in keys.items()}


def human_ceiling(pairs: list[dict], stances: list[dict], annotators: list[str]) -> dict | None:
    """The panel's human-level F1 on the run's pairs (`mean_f1`: per annotator; `f1`: by the
    estimator that applies, `prep.panel.human_level`); None without a panel of three or more."""
    if len(annotators) < 3:
        return None
    from prep.panel import human_level

    scored = {(p["conversation_id"], p["statement_id"], p["contributor"]) for p in pairs}
    level = human_level([s for s in stances if (s["conversation_id"], s["statement_id"], s["contributor"]) in scored],
                        annotators)
    ceiling = level["per_annotator"]
    return {**ceiling, **{k: level[k] for k in ("estimator", "f1", "pooled")}} if ceiling["per_annotator"] else None
