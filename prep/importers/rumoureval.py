"""RumourEval 2019 (English Twitter and Reddit threads) -> canonical tables -> prepared JSONL.

    python -m prep.importers.rumoureval --out data/prepared/rumoureval \\
        --tokenizer models/smollm2-135m-instruct --sequence-len 2048 --over-budget exclude

One conversation per thread; the claim statement is the source post (a tweet's text, a Reddit
post's title); each reply author is a contributor, labelled from the stances of their replies
(`contributor_label`: support = in favour, deny = against). Official splits are kept (train and
dev keys, final-eval key for test), reply_to comes from structure.json and times are parsed to
UTC. Left out, and counted: Reddit "more comments" stubs (not posts), pairs for deleted Reddit
authors (their posts stay, by UNKNOWN_AUTHOR) and for the source author (the statement is
their own post), and mixed contributors when --mixed exclude.
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

from core.cli import run_cli
from prep.importers import Imported, contributor_label
from prep.importers import main as import_main
from prep.tables import UNKNOWN_AUTHOR

SOURCE = Path("../shared/data/rumoureval-2019")
KEYS = {"train": "rumoureval-2019-training-data/train-key.json", "dev": "rumoureval-2019-training-data/dev-key.json",
        "test": "final-eval-key.json"}
STATEMENT_ID = "claim"
DELETED = "[deleted]"


def read_post(path: Path) -> dict | None:
    """A tweet or a Reddit post/comment as a canonical message; None for a 'more comments' stub."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if "kind" not in raw:  # a tweet
        return {"message_id": raw["id_str"], "author": raw["user"]["screen_name"], "text": html.unescape(raw["text"]),
                "timestamp": datetime.strptime(raw["created_at"], "%a %b %d %H:%M:%S %z %Y").isoformat(),
                "title": html.unescape(raw["text"])}
    data = raw["data"]["children"][0]["data"] if raw["kind"] == "Listing" else raw["data"]
    if raw["kind"] == "more":
        return None
    title = html.unescape(data.get("title", ""))
    body = html.unescape(data.get("selftext") or data.get("body") or "")
    author = data.get("author") or DELETED
    return {"message_id": data["id"], "author": UNKNOWN_AUTHOR if author == DELETED else author,
            "text": "\n\n".join(t for t in (title, body) if t),
            "timestamp": datetime.fromtimestamp(data["created_utc"], tz=timezone.utc).isoformat(), "title": title}


def parents(structure: dict, parent: str | None = None) -> dict[str, str | None]:
    """structure.json's nested reply tree -> post id -> id of the post it replies to."""
    found = {}
    for node, children in structure.items():
        found[node] = parent
        if isinstance(children, dict):
            found.update(parents(children, node))
    return found


def convert(args) -> Imported:
    source = args.source
    keys = {}
    for split, name in KEYS.items():
        for post_id, stance in json.loads((source / name).read_text())["subtaskaenglish"].items():
            keys[post_id] = (split, stance)
    imported = Imported([], [])
    counts = Counter()
    for structure_path in sorted(source.rglob("structure.json")):
        thread = structure_path.parent
        thread_id = thread.name
        if thread_id not in keys:
            imported.exclusions.add("thread_not_in_keys", str(structure_path), None, conversation_id=thread_id)
            continue
        split = keys[thread_id][0]
        reply_to = parents(json.loads(structure_path.read_text()))
        source_post = read_post(thread / "source-tweet" / f"{thread_id}.json")
        posts = [source_post]
        for path in sorted((thread / "replies").glob("*.json")):
            post = read_post(path)
            if post is None:
                imported.exclusions.add("reddit_more_stub", str(path), None, "a 'more comments' link, not a post",
                                        conversation_id=thread_id)
                continue
            posts.append(post)
        posts.sort(key=lambda p: (p["timestamp"], p["message_id"]))
        stances_by_author = defaultdict(set)
        for post in posts:
            imported.messages.append({"conversation_id": thread_id, "message_id": post["message_id"],
                                      "author": post["author"], "timestamp": post["timestamp"], "text": post["text"],
                                      "reply_to": reply_to.get(post["message_id"])})
            if post is not source_post:
                counts["replies_outside_structure"] += post["message_id"] not in reply_to
                stances_by_author[post["author"]].add(keys.get(post["message_id"], (None, "unlabelled"))[1])
        counts["threads_" + split] += 1
        counts["posts"] += len(posts)
        for author in sorted(stances_by_author):
            labels = stances_by_author[author]
            counts["contributors_with_unlabelled_replies"] += "unlabelled" in labels
            reason = ("deleted_author" if author == UNKNOWN_AUTHOR else
                      "source_author" if author == source_post["author"] else None)
            if reason:
                imported.exclusions.add(reason, str(thread / "replies"), None, f"{len(labels)} stance value(s)",
                                        conversation_id=thread_id, contributor=author)
                continue
            label = contributor_label(labels, "support", "deny", args.mixed)
            counts["mixed_" + split] += {"support", "deny"} <= labels
            if label is None:
                imported.exclusions.add("mixed_stance", str(thread / "replies"), None, "support and deny",
                                        conversation_id=thread_id, contributor=author)
                continue
            counts[f"{label}_{split}"] += 1
            imported.stances.append({"conversation_id": thread_id, "statement_id": STATEMENT_ID,
                                     "statement": source_post["title"], "contributor": author, "label": label,
                                     "split": split})
    imported.counts = dict(sorted(counts.items()))
    return imported


def main(argv: list[str] | None = None) -> dict:
    return import_main("rumoureval", convert, __doc__.splitlines()[0], SOURCE, argv)


if __name__ == "__main__":
    run_cli(main)
