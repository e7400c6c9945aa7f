"""A contributor's own messages as encoder windows: one window per message, with what it replies to.

A debate's stance is spread over many posts, so an encoder reads all of a contributor's messages
rather than one cut context. Window text: the reply parent's line (its last PARENT_CHARS
characters, as `prep.prompt` renders a message line), then the message's own line; the encoder
cuts it at its token limit. The windows come from the prepared folder's pseudonymised tables
(`OUT/tables/messages.jsonl`), so contributors match the rows' `meta.contributor`.

With a cap of k windows, the k longest messages are kept (longest first: the argued posts, not
the one-line jokes), in conversation order; the caps nest (1 within 4 within 16), so a cached
embedding serves every cap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from core.cli import UserError
from core.jsonl import read_jsonl
from prep.prompt import message_line

PARENT_CHARS = 160


@dataclass(frozen=True)
class Window:
    text: str
    message_ids: tuple[str, ...]  # the contributor's messages it contains (its own, and a parent of theirs)


def contributor_windows(messages: list[dict]) -> dict[tuple[str, str], list[Window]]:
    """(conversation_id, author) -> one window per message, in conversation order."""
    windows = defaultdict(list)
    for conversation_id, rows in groupby(messages, key=lambda m: m["conversation_id"]):
        rows = list(rows)
        number = {m["message_id"]: i + 1 for i, m in enumerate(rows)}
        by_id = {m["message_id"]: m for m in rows}
        for m in rows:
            parent = by_id.get(m.get("reply_to") or "")
            own = message_line(number[m["message_id"]], m, parent and number[parent["message_id"]])
            ids = (m["message_id"],)
            if parent is None:
                text = own
            else:
                text = message_line(number[parent["message_id"]], parent, None)[-PARENT_CHARS:] + "\n" + own
                ids += (parent["message_id"],) if parent["author"] == m["author"] else ()
            windows[(conversation_id, m["author"])].append(Window(text, ids))
    return dict(windows)


def best_per_message(windows: list[Window], p_yes) -> list[dict]:
    """Each message in `windows` with the best P(yes) of a window holding it, highest first: the
    `message_scores` of an encoder that scores message windows (evidence, `eval.evidence`)."""
    best = {}
    for window, p in zip(windows, p_yes):
        for message_id in window.message_ids:
            best[message_id] = max(best.get(message_id, 0.0), float(p))
    return [{"message_id": m, "score": round(s, 6)} for m, s in sorted(best.items(), key=lambda i: (-i[1], i[0]))]


def capped(windows: list[Window], limit: int | None) -> list[Window]:
    """The `limit` longest windows (all with None), in conversation order."""
    if limit is None or len(windows) <= limit:
        return windows
    longest = sorted(range(len(windows)), key=lambda i: (-len(windows[i].text), i))[:limit]
    return [windows[i] for i in sorted(longest)]


def read_windows(tables: Path) -> dict[tuple[str, str], list[Window]]:
    path = Path(tables) / "messages.jsonl"
    if not path.exists():
        raise UserError(f"{path}: not found; message windows read the prepared folder's tables "
                        "(prep.build writes OUT/tables)")
    return contributor_windows(read_jsonl(path))
