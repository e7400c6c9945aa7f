"""Splits: by conversation, stratified by yes-rate, seeded; no conversation and no message text
in two splits; a given assignment is kept."""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict

import pytest

from prep import build
from prep.split import MIN_SHARED_CHARS, SPLITS, parse_fractions, split_conversations, text_groups
from tests.conftest import write_jsonl

LINE = re.compile(r"^\[\d+\] \S+ \S+ \S+(?: \(reply to \[\d+\]\))?: (.*)$")
ARTICLES = [f"Cross-posted news article number {i}: the CPF board announced changes to withdrawal rules today." for i in range(6)]


def synthetic_tables(folder, n_conversations: int = 30, seed: int = 1, split_column: dict | None = None):
    """Conversations of 3-6 authors with varied yes-rates; some re-post the same long article."""
    rng = random.Random(seed)
    messages, stances = [], []
    for c in range(n_conversations):
        conversation = f"t{c:02d}"
        authors = [f"user{c}_{a}" for a in range(rng.randint(3, 6))]
        texts = [f"Message {m} of thread {c}: views on policy item {rng.randint(0, 10**6)}" for m in range(8)]
        if c % 5 < 2:  # pairs of threads share an article
            texts[3] = ARTICLES[(c // 5) % len(ARTICLES)]
        for m, text in enumerate(texts):
            messages.append({"conversation_id": conversation, "message_id": f"m{m}", "author": authors[m % len(authors)],
                             "timestamp": f"2024-05-{c % 28 + 1:02d}T10:{m:02d}:00", "text": text})
        rate = rng.random()
        for author in authors:
            stances.append({"conversation_id": conversation, "statement_id": "s", "statement": "CPF rules should change",
                            "contributor": author, "label": "yes" if rng.random() < rate else "no",
                            **({"split": split_column[conversation]} if split_column else {})})
    return write_jsonl(folder / "messages.jsonl", messages), write_jsonl(folder / "stances.jsonl", stances)


def prepared_texts(out) -> dict[str, dict[str, set]]:
    """split -> {'conversations': ids, 'texts': message texts} read back from the JSONL."""
    found = defaultdict(lambda: {"conversations": set(), "texts": set()})
    for split in SPLITS:
        for line in (out / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            found[split]["conversations"].add(row["meta"]["conversation_id"])
            for text_line in row["messages"][0]["content"].splitlines():
                match = LINE.match(text_line)
                if match:
                    found[split]["texts"].add(match.group(1).lower())
    return found


def test_no_conversation_and_no_message_text_in_two_splits(tmp_path, model_dir):
    messages, stances = synthetic_tables(tmp_path)
    out = tmp_path / "prepared"
    report = build.main(["--messages", str(messages), "--stances", str(stances), "--tokenizer", str(model_dir),
                         "--sequence-len", "2048", "--out", str(out)])
    found = prepared_texts(out)
    shared_articles = {a.lower() for a in ARTICLES} & set().union(*(f["texts"] for f in found.values()))
    assert shared_articles, "the fixture must hold texts that two conversations share"
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not found[a]["conversations"] & found[b]["conversations"]
                shared = {t for t in found[a]["texts"] & found[b]["texts"] if len(t) >= MIN_SHARED_CHARS}
                assert not shared, (a, b, shared)
    assert report["split_assignment"] == {"by": "stratified", "texts_in_two_splits": 0}


def test_given_assignment_is_kept(tmp_path, model_dir):
    given = {f"t{c:02d}": SPLITS[c % 3] for c in range(9)}
    messages, stances = synthetic_tables(tmp_path, n_conversations=9, split_column=given)
    out = tmp_path / "prepared"
    report = build.main(["--messages", str(messages), "--stances", str(stances), "--tokenizer", str(model_dir),
                         "--sequence-len", "2048", "--out", str(out)])
    found = prepared_texts(out)
    assert {c: s for s in SPLITS for c in found[s]["conversations"]} == given
    assert report["split_assignment"]["by"] == "given"


def test_stratified_split_spreads_yes_rates():
    rng = random.Random(3)
    ids = [f"c{i:03d}" for i in range(200)]
    rates = {c: rng.choice([0.0, 0.0, 0.1, 0.5, 0.9]) * rng.random() for c in ids}
    fractions = parse_fractions("0.6,0.2,0.2")
    overall = sum(rates.values()) / len(rates)

    def worst_gap(assignment):
        means = [sum(rates[c] for c in ids if assignment[c] == s) / sum(assignment[c] == s for c in ids) for s in SPLITS]
        return max(abs(m - overall) for m in means)

    stratified = [worst_gap(split_conversations(ids, fractions, seed, rates)) for seed in range(10)]
    unstratified = [worst_gap(split_conversations(ids, fractions, seed)) for seed in range(10)]
    assert max(stratified) < 0.02 < max(unstratified)


def test_split_is_seeded_and_exact():
    ids = [f"c{i:02d}" for i in range(47)]
    fractions = parse_fractions("0.6,0.2,0.2")
    first = split_conversations(ids, fractions, 7, {c: i % 3 / 2 for i, c in enumerate(ids)})
    assert first == split_conversations(list(reversed(ids)), fractions, 7, {c: i % 3 / 2 for i, c in enumerate(ids)})
    assert first != split_conversations(ids, fractions, 8, {c: i % 3 / 2 for i, c in enumerate(ids)})
    assert Counter(first.values()) == {"train": 28, "dev": 10, "test": 9} or Counter(first.values()) == {"train": 28, "dev": 9, "test": 10}


def test_text_groups_link_reposts_but_not_boilerplate():
    message = lambda c, t: {"conversation_id": c, "text": t}  # noqa: E731
    boilerplate = "Thanks for sharing, very informative post!"
    messages = [message("a", ARTICLES[0]), message("b", ARTICLES[0]), message("c", "short"), message("d", "short")]
    messages += [message(c, boilerplate) for c in "efghij"]
    groups = text_groups(messages, max_group=3)
    assert groups["a"] == groups["b"] and groups["c"] != groups["d"]
    assert len({groups[c] for c in "efghij"}) == 6


@pytest.mark.parametrize("text", ["0.5,0.5", "0.7,0.2,0.2", "-0.1,0.6,0.5"])
def test_bad_fractions_are_refused(text):
    with pytest.raises(ValueError):
        parse_fractions(text)
