"""Synthetic public-consultation threads with known stance labels.

Real consultation threads cannot be shared, so tests, demos and benchmarks use generated
ones instead. Each thread discusses one Singapore policy topic in a mix of English,
Singlish and Chinese. Every (statement, contributor) pair has a known answer to "did this
contributor express the statement anywhere in the conversation?".

Only key messages touch a statement. They are "yes" when they state it (in the statement's
own words, a paraphrase or Chinese) or when they agree with a reply ("+1") to such a message.
They are hard "no" cases when they state the opposite, agree with someone who stated the
opposite, ask about the statement or report someone else's view. Filler messages are built
from sentences that take no side on any statement, so no pair turns "yes" by accident.
The phrase tables (topics and statements, filler, key-message frames, names) are the YAML
files of synth_data/, loaded once on import.

Two modes share one conversation builder:
  demo  16 fixed conversations with three annotator labels per pair (data/demo).
  long  150,000-1,000,000-character threads with key messages planted at chosen
        relative positions (start, middle, end) for long-context tests and benchmarks.

    python -m prep.synth demo --out data/demo
    python -m prep.synth long --out DIR --conversations 4 --chars 150000 --authors 40 \
        --seed 1 --positions start,middle,end
"""

import argparse
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from random import Random
from typing import NamedTuple, Sequence

import yaml

from core.cli import UserError, run_cli
from core.jsonl import write_jsonl


class Statement(NamedTuple):
    id: str
    text: str
    paraphrases: tuple[str, ...]  # English/Singlish restatements (used only by "yes" messages)
    opposites: tuple[str, ...]
    zh_yes: tuple[str, ...]  # Chinese restatements, Simplified and Traditional
    zh_no: tuple[str, ...]
    zh_claim: str  # Chinese clause for questions and reported speech


class Topic(NamedTuple):
    key: str
    title: str
    zh_title: str
    neutral: tuple[str, ...]  # on-topic sentences that take no side on any statement
    zh_neutral: tuple[str, ...]
    statements: tuple[Statement, ...]


DATA_DIR = Path(__file__).with_name("synth_data")


def _load(name: str):
    """One YAML table of synth_data/ (libyaml's parser when present: ten times faster)."""
    with (DATA_DIR / f"{name}.yaml").open(encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _tuples(entry: dict) -> dict:
    """YAML lists as the tuples that Topic and Statement declare."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}


def _topic(entry: dict) -> Topic:
    statements = tuple(Statement(**_tuples(st)) for st in entry["statements"])
    return Topic(**_tuples(entry) | {"statements": statements})


TOPICS: tuple[Topic, ...] = tuple(_topic(entry) for entry in _load("topics"))
FILLER = _load("filler")
KEY_MESSAGES = _load("key_messages")
NAMES = _load("names")
# Filler may reply to filler with agreement too: agreeing with a message that expresses
# nothing is neutral.
FILLER_REPLIES = {lang: KEY_MESSAGES["agree"][lang] + FILLER["replies"][lang]
                  for lang in ("en", "zh")}

# Event kinds. "no" kinds: oppose, agree_oppose (agrees with an "oppose"), ask, report, none.
YES_KINDS = ("explicit", "paraphrase", "chinese", "agree")
STANDALONE_YES = ("explicit", "paraphrase", "chinese")
# Windows of relative character offset for planted key messages, and the narrower target
# ranges aimed at so that the message lands inside its window.
POSITION_WINDOWS = {"start": (0.0, 0.10), "middle": (0.45, 0.55), "end": (0.90, 1.0)}
POSITION_TARGETS = {"start": (0.005, 0.04), "middle": (0.47, 0.50), "end": (0.90, 0.93)}
DEMO_SEED = 2024
DEMO_CONVERSATIONS = 16
DEMO_LONG = 6
LONG_MIN_CHARS = 50_000  # below this one filler message could push a planted one out of window
SGT = timezone(timedelta(hours=8))


class _Slots(dict):
    """format_map source that draws a fresh value for every placeholder."""

    def __init__(self, rng: Random):
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        return self.rng.choice(FILLER["slots"][key])


def clause(sentence: str) -> str:
    """The statement as a clause ("I think raising the ..."), keeping acronyms and names."""
    first = sentence.split(" ", 1)[0]
    if first[1:].islower() and first not in ("Singapore", "Healthier"):
        return sentence[0].lower() + sentence[1:]
    return sentence


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@dataclass
class _Event:
    """One key message: what it says about which statement, and where it goes."""

    author: str
    statement: int
    kind: str
    zh: bool
    window: str | None
    frac: float = 0.0
    parent: int | None = None  # index of the event it replies to
    text: str = ""


@dataclass
class _Conversation:
    messages: list[dict]
    stances: list[dict]  # contract rows with a "label" column
    kinds: list[str]  # kind behind each stance row, for annotator difficulty
    planted: list[dict]


def _author_names(rng: Random, n: int) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        given, surname = rng.choice(NAMES["given_names"]), rng.choice(NAMES["surnames"])
        style = rng.randrange(5)
        if style == 0:
            name = f"{given} {surname}"
        elif style == 1:
            name = f"{given.replace(' ', '').lower()}{rng.randint(1, 99)}"
        elif style == 2:
            name = f"{rng.choice(NAMES['handles'])}{rng.choice(('', str(rng.randint(1, 999))))}"
        elif style == 3:
            name = f"{rng.choice(NAMES['honorifics'])} {surname}"
        else:
            name = f"{given.split()[0].lower()}_{surname.lower().replace(' ', '')}"
        if name not in names:
            names.append(name)
    return names


def _zh_rates(rng: Random, authors: Sequence[str]) -> dict[str, float]:
    """Share of each author's messages in Chinese: most write English, some mix in
    Chinese, a few write mostly Chinese. About one message in seven overall."""
    return {a: rng.choice((0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.3, 0.3, 0.6))
            for a in authors}


def _writes_chinese(rng: Random, zh_rate: float) -> bool:
    """Language of a key message; Chinese a little more often than in filler so that
    Chinese statements and rejections are well represented."""
    return rng.random() < max(zh_rate, 0.15)


def _sentences(rng: Random, slots: _Slots, topic: Topic, zh: bool, n: int) -> list[str]:
    pools = (topic.zh_neutral if zh else topic.neutral, FILLER["chatter"][_lang(zh)])
    templates: list[str] = []
    while len(templates) < n:
        template = rng.choice(pools[0] if rng.random() < 0.4 else pools[1])
        if template not in templates:
            templates.append(template)
    return [t.format_map(slots) for t in templates]


def _lang(zh: bool) -> str:
    return "zh" if zh else "en"


def _join(parts: list[str], zh: bool) -> str:
    return ("" if zh else " ").join(parts)


def _filler_text(rng: Random, slots: _Slots, topic: Topic, zh: bool, reply: bool) -> str:
    """A message that takes no side: quip, reply, one-liner or a rambling paragraph."""
    roll = rng.random()
    if reply and roll < 0.5:
        return rng.choice(FILLER_REPLIES[_lang(zh)])
    if not zh and roll < 0.12:
        return rng.choice(FILLER["quips"])
    n = rng.choices((1, 2, 3, 4, 5, 7, 9), (30, 25, 18, 10, 8, 6, 3))[0]
    parts = _sentences(rng, slots, topic, zh, n)
    if not zh and rng.random() < 0.25:
        parts.insert(0, rng.choice(FILLER["interjections"]))
    if rng.random() < 0.2:
        parts.append(rng.choice(FILLER["closers"][_lang(zh)]))
    return _join(parts, zh)


def _key_text(rng: Random, slots: _Slots, topic: Topic, st: Statement, event: _Event,
              disagrees_with_parent: bool) -> str:
    """The message that carries an event's stance, padded with neutral sentences."""
    zh, lang = event.zh, _lang(event.zh)
    if event.kind in ("agree", "agree_oppose"):
        return rng.choice(KEY_MESSAGES["agree"][lang])
    claim = st.zh_claim if zh else clause(st.text)
    if event.kind in ("ask", "report"):
        core = rng.choice(KEY_MESSAGES[event.kind][lang]).format(c=claim)
    elif event.kind == "oppose":
        core = rng.choice(KEY_MESSAGES["oppose"][lang]).format(
            p=rng.choice(st.zh_no if zh else st.opposites))
        if disagrees_with_parent:
            core = _join([rng.choice(KEY_MESSAGES["disagree_prefixes"][lang]), core], zh)
    elif zh:
        core = rng.choice(KEY_MESSAGES["restate"]["zh"]).format(p=rng.choice(st.zh_yes))
    elif event.kind == "explicit":
        core = rng.choice(KEY_MESSAGES["explicit"]).format(c=claim, s=st.text)
    else:
        core = rng.choice(KEY_MESSAGES["restate"]["en"]).format(p=rng.choice(st.paraphrases))
    before = _sentences(rng, slots, topic, zh, rng.choice((0, 0, 0, 1, 1, 2)))
    after = _sentences(rng, slots, topic, zh, rng.choice((0, 0, 0, 1)))
    return _join(before + [core] + after, zh)


def _place_events(rng: Random, events: list[_Event]) -> None:
    """Give each event a target relative offset and, for replies, the message it answers.

    Replies land shortly after their parent. Agreement needs a parent: the plan guarantees
    one (a standalone "yes", or an "oppose", on the same statement). A plan gives each author
    at most one role per statement, so nobody answers their own key message."""
    for event in events:
        if event.kind not in ("agree", "agree_oppose"):
            low, high = POSITION_TARGETS[event.window] if event.window else (0.01, 0.95)
            event.frac = rng.uniform(low, high)
    for i, event in enumerate(events):
        if event.kind in ("agree", "agree_oppose", "oppose", "ask"):
            wanted = ("oppose",) if event.kind == "agree_oppose" else STANDALONE_YES
            parents = [j for j, other in enumerate(events)
                       if other.statement == event.statement and other.kind in wanted
                       and (event.kind in ("agree", "agree_oppose") or other.frac < event.frac)]
            if event.kind in ("agree", "agree_oppose"):
                event.parent = rng.choice(parents)
                event.frac = min(events[event.parent].frac + rng.uniform(0.002, 0.06), 0.999)
            elif parents and rng.random() < 0.35:
                event.parent = rng.choice(parents)


def _timestamps(rng: Random, n: int) -> list[str]:
    """Strictly increasing times: mostly minutes apart, sometimes hours."""
    t = datetime(2023, 1, 2, tzinfo=SGT) + timedelta(
        days=rng.randrange(700), hours=rng.randint(7, 21), minutes=rng.randrange(60))
    out = []
    for _ in range(n):
        out.append(t.isoformat())
        roll = rng.random()
        if roll < 0.65:
            gap = rng.randint(60, 1200)
        elif roll < 0.93:
            gap = rng.randint(1200, 7200)
        else:
            gap = rng.randint(7200, 36000)
        t += timedelta(seconds=gap)
    return out


def _build_conversation(rng: Random, conversation_id: str, topic: Topic,
                        statements: Sequence[Statement], zh_rate: dict[str, float],
                        target_chars: int, plan: Sequence[_Event]) -> _Conversation:
    """Shared core of both modes: neutral filler around the planned key messages.

    Filler is generated until the thread reaches target_chars, then key messages are
    merged in at their target offsets. Filler only ever replies to filler, so a "+1"
    in filler never agrees with a stance."""
    slots = _Slots(rng)
    authors = list(zh_rate)
    activity = [rng.paretovariate(1.3) for _ in authors]
    events = list(plan)
    _place_events(rng, events)
    for event in events:
        parent = events[event.parent] if event.parent is not None else None
        event.text = _key_text(rng, slots, topic, statements[event.statement], event,
                               parent is not None and event.kind == "oppose")
    key_chars = sum(len(e.text) for e in events)

    # Filler: (author, text, index of the filler message it replies to).
    opener_zh = rng.random() < 0.15
    opener = rng.choice(FILLER["openers"][_lang(opener_zh)]).format(
        title=topic.title, zh_title=topic.zh_title)
    filler: list[tuple[str, str, int | None]] = [(rng.choice(authors), opener, None)]
    filler_chars = len(opener)
    while filler_chars < target_chars - key_chars:
        parent = None
        if len(filler) > 1 and rng.random() < 0.3:
            parent = len(filler) - 1 if rng.random() < 0.5 else rng.randrange(
                max(0, len(filler) - 12), len(filler))
        author = rng.choices(authors, activity)[0]
        if parent is not None and author == filler[parent][0]:
            author = rng.choices(authors, activity)[0]
        text = _filler_text(rng, slots, topic, rng.random() < zh_rate[author], parent is not None)
        filler.append((author, text, parent))
        filler_chars += len(text)

    # Everyone in the author list posts at least once: take over a message from a regular.
    counts = {a: 0 for a in authors}
    for author, _, _ in filler:
        counts[author] += 1
    for event in events:
        counts[event.author] += 1
    for author in authors:
        if counts[author] == 0:
            i = rng.choice([i for i, f in enumerate(filler) if counts[f[0]] > 1])
            counts[filler[i][0]] -= 1
            counts[author] += 1
            filler[i] = (author, filler[i][1], filler[i][2])

    # Merge key messages into the filler at their target offsets.
    total = filler_chars + key_chars
    order = sorted(range(len(events)), key=lambda i: events[i].frac)
    rows: list[tuple[str, str, tuple[str, int] | None]] = []
    filler_pos: list[int] = []
    event_pos = [0] * len(events)
    offsets: list[int] = []
    emitted = 0
    k = 0

    def emit_events(limit: float) -> None:
        nonlocal emitted, k
        while k < len(order) and events[order[k]].frac * total <= limit:
            event = events[order[k]]
            if event.parent is not None:
                ref = ("e", event.parent)
            elif filler_pos and rng.random() < 0.15:
                ref = ("f", rng.randrange(max(0, len(filler_pos) - 12), len(filler_pos)))
            else:
                ref = None
            event_pos[order[k]] = len(rows)
            offsets.append(emitted)
            rows.append((event.author, event.text, ref))
            emitted += len(event.text)
            k += 1

    for author, text, parent in filler:
        emit_events(emitted)
        filler_pos.append(len(rows))
        offsets.append(emitted)
        rows.append((author, text, None if parent is None else ("f", parent)))
        emitted += len(text)
    emit_events(float("inf"))

    ids = [f"m{i + 1:05d}" for i in range(len(rows))]
    times = _timestamps(rng, len(rows))
    messages = []
    for i, (author, text, ref) in enumerate(rows):
        reply_to = None
        if ref is not None:
            reply_to = ids[filler_pos[ref[1]] if ref[0] == "f" else event_pos[ref[1]]]
        messages.append({"conversation_id": conversation_id, "message_id": ids[i],
                         "author": author, "timestamp": times[i], "text": text,
                         "reply_to": reply_to})

    role = {(e.author, e.statement): e.kind for e in events}
    stances, kinds = [], []
    for s, st in enumerate(statements):
        for author in sorted(authors):
            kind = role.get((author, s), "none")
            stances.append({"conversation_id": conversation_id, "statement_id": st.id,
                            "statement": st.text, "contributor": author,
                            "label": "yes" if kind in YES_KINDS else "no"})
            kinds.append(kind)

    planted = []
    for i, event in enumerate(events):
        if event.window is None:
            continue
        offset = offsets[event_pos[i]] / total
        low, high = POSITION_WINDOWS[event.window]
        if not low <= offset < high:
            raise RuntimeError(f"{conversation_id}: planted message at {offset:.3f}, "
                               f"outside the {event.window} window")
        planted.append({"conversation_id": conversation_id,
                        "statement_id": statements[event.statement].id,
                        "contributor": event.author, "message_id": ids[event_pos[i]],
                        "position": event.window, "relative_offset": round(offset, 4)})
    return _Conversation(messages, stances, kinds, planted)


def _standalone_kind(rng: Random, zh: bool) -> str:
    return "chinese" if zh else rng.choice(("explicit", "paraphrase"))


def _demo_plan(rng: Random, zh_rate: dict[str, float], n_statements: int) -> list[_Event]:
    """Roles per statement: about a quarter "yes" (some only by agreeing with a reply),
    a few hard negatives, the rest unrelated chatter."""
    plan = []
    n = len(zh_rate)
    for s in range(n_statements):
        order = rng.sample(list(zh_rate), n)
        n_yes = max(1, round(n * rng.uniform(0.15, 0.35)))
        roles = ["yes"] * n_yes
        roles += ["oppose"] * round(n * rng.uniform(0.05, 0.2))
        if "oppose" in roles and rng.random() < 0.4:
            roles.append("agree_oppose")
        roles += ["ask"] * rng.randint(0, 1 + n // 8) + ["report"] * rng.randint(0, 1 + n // 8)
        for i, (author, r) in enumerate(zip(order, roles)):
            zh = _writes_chinese(rng, zh_rate[author])
            if r == "yes":
                kind = "agree" if i > 0 and rng.random() < 0.3 else _standalone_kind(rng, zh)
                zh = kind == "chinese" or (kind == "agree" and zh)
            else:
                kind = r
            plan.append(_Event(author, s, kind, zh, None))
    return plan


def _long_plan(rng: Random, zh_rate: dict[str, float], positions: Sequence[str]) -> list[_Event]:
    """One planted "yes" per position (each on its own statement) and hard negatives by
    other authors anywhere in the thread."""
    plan = []
    authors = list(zh_rate)
    yes_authors = rng.sample(authors, len(positions))
    for s, (position, yes_author) in enumerate(zip(positions, yes_authors)):
        zh = _writes_chinese(rng, zh_rate[yes_author])
        plan.append(_Event(yes_author, s, _standalone_kind(rng, zh), zh, position))
        others = rng.sample([a for a in authors if a != yes_author], 7)
        roles = ["oppose"] * rng.randint(1, 3) + ["ask"] * rng.randint(1, 2)
        roles += ["report"] * rng.randint(0, 1) + ["agree_oppose"] * rng.randint(0, 1)
        for author, kind in zip(others, roles):
            plan.append(_Event(author, s, kind, _writes_chinese(rng, zh_rate[author]), None))
    return plan


def _annotate(seed: int, stances: list[dict], kinds: list[str]) -> list[dict]:
    """Three annotators who agree except on about a tenth of the pairs, where one of them
    dissents. Dissent is drawn with weights that favour the hard cases."""
    rng = Random(f"annotators:{seed}")
    weight = {"explicit": 1, "paraphrase": 2, "chinese": 2, "agree": 5, "oppose": 2,
              "agree_oppose": 5, "ask": 3, "report": 5, "none": 0.3}
    keys = [rng.random() ** (1 / weight[k]) for k in kinds]
    n_dissent = round(0.10 * len(stances))
    dissent = set(sorted(range(len(stances)), key=lambda i: -keys[i])[:n_dissent])
    rows = []
    for i, row in enumerate(stances):
        labels = [row["label"]] * 3
        if i in dissent:
            labels[rng.randrange(3)] = "no" if row["label"] == "yes" else "yes"
        rows.append({k: row[k] for k in ("conversation_id", "statement_id", "statement",
                                         "contributor")}
                    | {"annotator_1": labels[0], "annotator_2": labels[1],
                       "annotator_3": labels[2]})
    return rows


def generate_demo(seed: int = DEMO_SEED) -> tuple[list[dict], list[dict]]:
    """The 16-conversation demo set: 6 long threads (>= 30,000 characters, 10-18 authors)
    and 10 short ones (2,000-8,000 characters, 3-8 authors), with annotator labels."""
    rng = Random(f"demo:{seed}")
    long_ids = sorted(rng.sample(range(DEMO_CONVERSATIONS), DEMO_LONG))
    topics = rng.sample(TOPICS, len(TOPICS)) + rng.sample(TOPICS, DEMO_CONVERSATIONS - len(TOPICS))
    messages, stances, kinds = [], [], []
    for i in range(DEMO_CONVERSATIONS):
        conversation_id = f"demo-{i + 1:02d}"
        crng = Random(f"{seed}:{conversation_id}")
        if i in long_ids:
            n_authors, target, n_statements = crng.randint(10, 18), crng.randint(30_500, 34_000), \
                crng.randint(3, 4)
        else:
            n_authors, target, n_statements = crng.randint(3, 8), crng.randint(2_200, 6_000), \
                crng.randint(2, 3)
        statements = crng.sample(topics[i].statements, n_statements)
        zh_rate = _zh_rates(crng, _author_names(crng, n_authors))
        conv = _build_conversation(crng, conversation_id, topics[i], statements, zh_rate, target,
                                   _demo_plan(crng, zh_rate, n_statements))
        messages += conv.messages
        stances += conv.stances
        kinds += conv.kinds
    return messages, _annotate(seed, stances, kinds)


def generate_long(seed: int, n_conversations: int, chars: int, authors: int,
                  positions: Sequence[str]) -> tuple[list[dict], list[dict], list[dict]]:
    """Long threads (chars characters each, a little more in practice) with one planted
    key message per entry of positions, each on a different statement of the topic.

    Returns messages, stances (label column) and planted (where each planted message is)."""
    if not positions or any(p not in POSITION_WINDOWS for p in positions):
        raise UserError(f"positions must be a non-empty list drawn from {list(POSITION_WINDOWS)}")
    if len(positions) > min(len(t.statements) for t in TOPICS):
        raise UserError("at most one planted message per statement of a topic")
    if chars < LONG_MIN_CHARS:
        raise UserError(f"chars must be at least {LONG_MIN_CHARS}")
    if authors < 10:
        raise UserError("authors must be at least 10")
    if n_conversations < 1:
        raise UserError("conversations must be at least 1")
    rng = Random(f"long:{seed}")
    order = rng.sample(TOPICS, len(TOPICS))
    messages, stances, planted = [], [], []
    for i in range(n_conversations):
        conversation_id = f"long-{seed}-{i + 1:03d}"
        crng = Random(f"{seed}:{conversation_id}")
        topic = order[i % len(order)]
        statements = crng.sample(topic.statements, len(positions))
        zh_rate = _zh_rates(crng, _author_names(crng, authors))
        conv = _build_conversation(crng, conversation_id, topic, statements, zh_rate, chars,
                                   _long_plan(crng, zh_rate, positions))
        messages += conv.messages
        stances += conv.stances
        planted += conv.planted
    return messages, stances, planted




def describe(messages: Sequence[dict], stances: Sequence[dict]) -> dict:
    """Headline counts of a generated set (gold = majority of annotators, or label)."""
    def gold(row: dict) -> str:
        if "label" in row:
            return row["label"]
        votes = [row[f"annotator_{i}"] for i in (1, 2, 3)]
        return "yes" if votes.count("yes") >= 2 else "no"

    return {
        "conversations": len({m["conversation_id"] for m in messages}),
        "messages": len(messages),
        "characters": sum(len(m["text"]) for m in messages),
        "authors": len({(m["conversation_id"], m["author"]) for m in messages}),
        "stances": len(stances),
        "yes_rate": round(sum(gold(r) == "yes" for r in stances) / len(stances), 3),
        "chinese_share": round(sum(has_chinese(m["text"]) for m in messages) / len(messages), 3),
        "replies": round(sum(m["reply_to"] is not None for m in messages) / len(messages), 3),
        "annotator_disagreements": sum(
            len({r[f"annotator_{i}"] for i in (1, 2, 3)}) > 1 for r in stances
            if "annotator_1" in r),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    demo = sub.add_parser("demo", help="the fixed 16-conversation demo set")
    demo.add_argument("--out", type=Path, default=Path("data/demo"))
    demo.add_argument("--seed", type=int, default=DEMO_SEED)
    long = sub.add_parser("long", help="long threads with planted key messages")
    long.add_argument("--out", type=Path, required=True)
    long.add_argument("--conversations", type=int, default=4)
    long.add_argument("--chars", type=int, default=150_000)
    long.add_argument("--authors", type=int, default=40)
    long.add_argument("--seed", type=int, default=0)
    long.add_argument("--positions", default="start,middle,end",
                      help="comma-separated: start, middle, end")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.mode == "demo":
        messages, stances = generate_demo(args.seed)
        files = {"messages.jsonl": messages, "stances.jsonl": stances}
    else:
        messages, stances, planted = generate_long(args.seed, args.conversations, args.chars,
                                                   args.authors, args.positions.split(","))
        files = {"messages.jsonl": messages, "stances.jsonl": stances, "planted.jsonl": planted}
    elapsed = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        write_jsonl(args.out / name, rows)
    print(json.dumps(describe(messages, stances) | {"seconds": round(elapsed, 2)}))


if __name__ == "__main__":
    run_cli(main)
