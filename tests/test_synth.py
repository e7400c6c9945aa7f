import json
import re
import string
import time
from collections import defaultdict
from pathlib import Path

import pytest

from core.cli import UserError
from prep.synth import (
    DEMO_SEED,
    FILLER,
    KEY_MESSAGES,
    POSITION_WINDOWS,
    TOPICS,
    clause,
    describe,
    generate_demo,
    generate_long,
    has_chinese,
    main,
    write_jsonl,
)

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"
MESSAGE_KEYS = ["conversation_id", "message_id", "author", "timestamp", "text", "reply_to"]
STANCE_KEYS = ["conversation_id", "statement_id", "statement", "contributor"]
ANNOTATORS = ["annotator_1", "annotator_2", "annotator_3"]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
STATEMENTS = {st.id: st for topic in TOPICS for st in topic.statements}
LONG_ARGS = dict(seed=7, n_conversations=2, chars=60_000, authors=12,
                 positions=["start", "middle", "end"])


@pytest.fixture(scope="module")
def demo():
    return generate_demo()


@pytest.fixture(scope="module")
def long():
    return generate_long(**LONG_ARGS)


def by_conversation(rows):
    out = defaultdict(list)
    for row in rows:
        out[row["conversation_id"]].append(row)
    return out


def gold(row):
    if "label" in row:
        return row["label"]
    return "yes" if [row[a] for a in ANNOTATORS].count("yes") >= 2 else "no"


def yes_only_phrases(st):
    """Wording that only ever appears in messages that express the statement."""
    return st.paraphrases + st.zh_yes


def states(text, st):
    return st.text in text or clause(st.text) in text or any(
        p in text for p in yes_only_phrases(st))


def serialised(folder, name, rows):
    folder.mkdir(exist_ok=True)
    write_jsonl(folder / name, rows)
    return (folder / name).read_bytes()


def test_demo_is_byte_reproducible(demo, tmp_path):
    again = generate_demo()
    for i, name in enumerate(("messages.jsonl", "stances.jsonl")):
        first = serialised(tmp_path / "first", name, demo[i])
        assert first == serialised(tmp_path / "second", name, again[i])
        assert first.endswith(b"\n") and b"\r" not in first


def test_other_seed_gives_other_data(demo, long):
    messages, stances = generate_demo(DEMO_SEED + 1)
    assert messages != demo[0]
    assert [m["text"] for m in messages[:50]] != [m["text"] for m in demo[0][:50]]
    other = generate_long(**(LONG_ARGS | {"seed": LONG_ARGS["seed"] + 1}))
    assert [m["text"] for m in other[0][:50]] != [m["text"] for m in long[0][:50]]
    assert generate_long(**LONG_ARGS) == long


def test_committed_demo_equals_regeneration(tmp_path):
    main(["demo", "--out", str(tmp_path)])
    for name in ("messages.jsonl", "stances.jsonl"):
        assert (tmp_path / name).read_bytes() == (DEMO_DIR / name).read_bytes(), name


def test_demo_shape(demo):
    messages, stances = demo
    conversations = by_conversation(messages)
    assert list(conversations) == [f"demo-{i:02d}" for i in range(1, 17)]
    sizes = {"long": 0, "short": 0}
    for cid, rows in conversations.items():
        chars = sum(len(m["text"]) for m in rows)
        authors = len({m["author"] for m in rows})
        if chars >= 30_000:
            sizes["long"] += 1
            assert 10 <= authors <= 18, cid
        else:
            sizes["short"] += 1
            assert 2_000 <= chars <= 8_000 and 3 <= authors <= 8, cid
        statements = {r["statement_id"] for r in stances if r["conversation_id"] == cid}
        assert 2 <= len(statements) <= 4, cid
    assert sizes == {"long": 6, "short": 10}
    assert 300 <= len(stances) <= 500
    stats = describe(messages, stances)
    assert 0.20 <= stats["yes_rate"] <= 0.30
    assert 0.08 <= stats["annotator_disagreements"] / len(stances) <= 0.12
    assert 0.10 <= stats["chinese_share"] <= 0.20
    assert 0.20 <= stats["replies"] <= 0.40


def test_demo_annotators_have_at_most_one_dissent(demo):
    for row in demo[1]:
        assert list(row) == STANCE_KEYS + ANNOTATORS
        votes = [row[a] for a in ANNOTATORS]
        assert set(votes) <= {"yes", "no"}
        assert min(votes.count("yes"), votes.count("no")) <= 1


@pytest.mark.parametrize("mode", ["demo", "long"])
def test_messages_follow_the_contract(mode, demo, long):
    messages = (demo if mode == "demo" else long)[0]
    conversations = by_conversation(messages)
    assert list(conversations) == sorted(conversations)
    for rows in conversations.values():
        seen = set()
        for m in rows:
            assert list(m) == MESSAGE_KEYS
            assert m["text"].strip()
            assert TIMESTAMP.match(m["timestamp"])
            assert m["message_id"] not in seen
            assert m["reply_to"] is None or m["reply_to"] in seen
            seen.add(m["message_id"])
        times = [m["timestamp"] for m in rows]
        assert times == sorted(times) and len(set(times)) == len(times)


@pytest.mark.parametrize("mode", ["demo", "long"])
def test_stances_cover_exactly_the_posters(mode, demo, long):
    messages, stances = (demo if mode == "demo" else long)[:2]
    posters = {(m["conversation_id"], m["author"]) for m in messages}
    pairs = defaultdict(set)
    for r in stances:
        pairs[r["conversation_id"], r["statement_id"]].add(r["contributor"])
        assert STATEMENTS[r["statement_id"]].text == r["statement"]
    assert len(stances) == sum(len(v) for v in pairs.values())
    for (cid, _), contributors in pairs.items():
        assert {(cid, c) for c in contributors} == {p for p in posters if p[0] == cid}


def test_reply_chains_reach_depth_three(demo):
    for rows in by_conversation(demo[0]).values():
        parent = {m["message_id"]: m["reply_to"] for m in rows}

        def depth(mid):
            d = 0
            while parent[mid] is not None:
                mid, d = parent[mid], d + 1
            return d

        if len(rows) > 200:
            assert max(depth(m) for m in parent) >= 3


def test_demo_gold_labels_match_the_messages(demo):
    """A "yes" contributor states the claim or agrees with a message that does; a "no"
    contributor never uses wording reserved for stating it, nor agrees with it."""
    messages, stances = demo
    index = {(m["conversation_id"], m["message_id"]): m for m in messages}
    posts = defaultdict(list)
    for m in messages:
        posts[m["conversation_id"], m["author"]].append(m)
    agreements = set(KEY_MESSAGES["agree"]["en"] + KEY_MESSAGES["agree"]["zh"])
    kinds = defaultdict(int)
    for row in stances:
        st = STATEMENTS[row["statement_id"]]
        mine = posts[row["conversation_id"], row["contributor"]]
        replies = [(m, index[m["conversation_id"], m["reply_to"]]) for m in mine if m["reply_to"]]
        agreed = [p for m, p in replies if m["text"] in agreements
                  and any(x in p["text"] for x in yes_only_phrases(st))]
        if gold(row) == "yes":
            direct = any(states(m["text"], st) for m in mine)
            assert direct or any(states(p["text"], st) for _, p in replies), row
            kinds["agree only" if not direct else "direct"] += 1
        else:
            assert not any(x in m["text"] for m in mine for x in yes_only_phrases(st)), row
            assert not agreed, row
    assert kinds["agree only"] >= 5


def test_long_lengths_positions_and_labels(long):
    messages, stances, planted = long
    conversations = by_conversation(messages)
    assert len(conversations) == LONG_ARGS["n_conversations"]
    planted_pairs = {(p["conversation_id"], p["statement_id"], p["contributor"]) for p in planted}
    yes_pairs = {(r["conversation_id"], r["statement_id"], r["contributor"]) for r in stances
                 if r["label"] == "yes"}
    assert yes_pairs == planted_pairs
    assert len(planted) == len(conversations) * len(LONG_ARGS["positions"])
    for r in stances:
        assert list(r) == STANCE_KEYS + ["label"]
    for cid, rows in conversations.items():
        chars = sum(len(m["text"]) for m in rows)
        assert LONG_ARGS["chars"] <= chars <= LONG_ARGS["chars"] + 2_000
        assert len({m["author"] for m in rows}) == LONG_ARGS["authors"]
        starts, offset = {}, 0
        for m in rows:
            starts[m["message_id"]] = offset
            offset += len(m["text"])
        mine = [p for p in planted if p["conversation_id"] == cid]
        assert sorted(p["position"] for p in mine) == sorted(LONG_ARGS["positions"])
        for p in mine:
            assert list(p) == ["conversation_id", "statement_id", "contributor", "message_id",
                               "position", "relative_offset"]
            relative = starts[p["message_id"]] / chars
            assert p["relative_offset"] == round(relative, 4)
            low, high = POSITION_WINDOWS[p["position"]]
            assert low <= relative < high
            message = next(m for m in rows if m["message_id"] == p["message_id"])
            assert message["author"] == p["contributor"]
            assert states(message["text"], STATEMENTS[p["statement_id"]])


def test_long_filler_never_states_a_claim(long):
    """Only planted authors use wording that states their statement, and no message touches
    a statement that is not one of its conversation's."""
    messages, stances, planted = long
    planted_authors = {(p["conversation_id"], p["statement_id"]): p["contributor"]
                       for p in planted}
    in_play = defaultdict(set)
    for r in stances:
        in_play[r["conversation_id"]].add(r["statement_id"])
    for m in messages:
        for st in STATEMENTS.values():
            wording = (st.text, clause(st.text), st.zh_claim) + st.paraphrases + st.opposites \
                + st.zh_yes + st.zh_no
            if any(w in m["text"] for w in wording):
                assert st.id in in_play[m["conversation_id"]], (st.id, m)
            if any(w in m["text"] for w in yes_only_phrases(st)):
                assert planted_authors[m["conversation_id"], st.id] == m["author"], m


def test_long_has_singlish_chinese_and_replies(long):
    messages = long[0]
    texts = " ".join(m["text"] for m in messages)
    for word in ("lah", "sia", "leh", "paiseh", "shiok"):
        assert word in texts.lower()
    assert 0.05 <= sum(has_chinese(m["text"]) for m in messages) / len(messages) <= 0.30
    assert 0.2 <= sum(m["reply_to"] is not None for m in messages) / len(messages) <= 0.4


def test_million_characters_is_fast():
    started = time.perf_counter()
    messages, _, planted = generate_long(seed=1, n_conversations=1, chars=1_000_000, authors=80,
                                         positions=["start", "middle", "end"])
    assert time.perf_counter() - started < 2.0
    assert 1_000_000 <= sum(len(m["text"]) for m in messages) <= 1_002_000
    assert len(planted) == 3


def test_cli_long_writes_three_files(tmp_path):
    main(["long", "--out", str(tmp_path), "--conversations", "1", "--chars", "50000",
          "--authors", "10", "--seed", "3", "--positions", "end,start"])
    rows = {name: [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
            for name in ("messages.jsonl", "stances.jsonl", "planted.jsonl")}
    assert [p["position"] for p in rows["planted.jsonl"]] == ["end", "start"]
    assert {r["label"] for r in rows["stances.jsonl"]} == {"yes", "no"}
    assert len(rows["stances.jsonl"]) == 2 * 10


@pytest.mark.parametrize("bad", [dict(positions=["early"]), dict(positions=[]),
                                 dict(positions=["start"] * 5), dict(chars=1_000),
                                 dict(authors=3), dict(n_conversations=0)])
def test_long_rejects_bad_arguments(bad):
    with pytest.raises(UserError):
        generate_long(**(LONG_ARGS | bad))


def test_phrase_tables_are_consistent():
    """Statement ids are unique and name their topic, and every {placeholder} of a filler
    sentence is a slot, so an edit to synth_data/ fails here rather than mid-generation."""
    ids = [st.id for topic in TOPICS for st in topic.statements]
    assert len(ids) == len(set(ids))
    assert all(st.id.startswith(f"{t.key}-") for t in TOPICS for st in t.statements)
    sentences = [s for t in TOPICS for s in t.neutral + t.zh_neutral]
    sentences += FILLER["chatter"]["en"] + FILLER["chatter"]["zh"]
    placeholders = {name for s in sentences for _, name, _, _ in string.Formatter().parse(s)
                    if name is not None}
    assert placeholders and placeholders <= set(FILLER["slots"])
