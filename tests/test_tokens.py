"""Token accounting: piecewise counts equal whole-text counts, and the guards catch it when not."""

from __future__ import annotations

import pytest

from prep import prompt
from prep.schema import load_tables
from prep.strategies import prepare_conversation
from prep.tokens import TokenCounter

AWKWARD_MESSAGES = [  # (author, text): boundaries that merge under careless splitting
    ("ah_boy.", "'s true lah, can or not?"),
    ("kiasu_dad!!", "...no leh"),
    ("Mei Ling 陈", "我觉得不应该提高提款年龄。公積金的制度太複雜"),
    ("user_2024", "2024 was worse, 55 is too young"),
    ("@heartlander", "  spaces\tand\nline\r\nbreaks  "),
    ("Zul", "😀 +1 同意你的看法!!!"),
    ("Priya", "[quote] not a message line] ok"),
]


@pytest.fixture(scope="module")
def counter(model_dir) -> TokenCounter:
    return TokenCounter(model_dir)


@pytest.fixture(scope="module")
def demo_tables(demo_dir):
    return load_tables(demo_dir / "messages.jsonl", demo_dir / "stances.jsonl")


def awkward_conversation() -> tuple[list[dict], list[dict]]:
    messages = [{"conversation_id": "x", "message_id": f"m{i}", "author": author, "text": text,
                 "timestamp": f"2024-0{1 + i % 9}-1{i % 10}T{i % 24:02d}:{(7 * i) % 60:02d}:00+08:00",
                 "reply_to": f"m{i - 1}" if i % 2 else None}
                for i, (author, text) in enumerate(AWKWARD_MESSAGES)]
    stances = [{"statement_id": "s", "statement": statement, "contributor": author}
               for statement in ("CPF is too complicated.", '"Quoted" claim?!', "提高公积金提取年龄可以确保退休金足够")
               for author, _ in AWKWARD_MESSAGES]
    return messages, stances


def test_message_lines_count_piecewise_as_a_whole(counter, demo_tables):
    messages, stances = awkward_conversation()
    conversations = [prepare_conversation("x", messages, stances, counter)]
    for conversation_id in sorted({m["conversation_id"] for m in demo_tables.messages}):
        conversations.append(prepare_conversation(
            conversation_id, [m for m in demo_tables.messages if m["conversation_id"] == conversation_id],
            [s for s in demo_tables.stances if s["conversation_id"] == conversation_id], counter))
    lines = [line for c in conversations for line in c.lines]
    assert len(lines) == len(demo_tables.messages) + len(AWKWARD_MESSAGES)
    assert lines[4] == "[5] 2024-05-14 04:28 @heartlander: spaces and line breaks"  # whitespace collapsed
    assert [n for c in conversations for n in c.line_tokens] == counter.count(lines)
    questions = [q for c in conversations for q in c.questions]
    assert [n for c in conversations for n in c.question_tokens] == counter.count(questions)


def test_lines_are_single_lines_starting_with_a_bracket(counter):
    messages, stances = awkward_conversation()
    conversation = prepare_conversation("x", messages, stances, counter)
    extra = [prompt.omission_line(1), prompt.omission_line(14), prompt.summary_line(1, 9, "A said\nthis")]
    for line in conversation.lines + extra:
        assert line.startswith("[") and "\n" not in line and "\r" not in line
    assert conversation.lines[1].startswith("[2] 2024-02-11 01:07 kiasu_dad!! (reply to [1]): ...no leh")
    assert prompt.omission_line(1) == "[… 1 message omitted …]"


def test_check_pieces_rejects_counts_that_do_not_add_up(counter):
    line = "[1] 2024-03-01 09:00 Bob: hello there"
    counter.check_pieces([line], counter.count([line]))
    with pytest.raises(RuntimeError, match="not exact"):
        counter.check_pieces([line], [counter.count([line])[0] + 1])


def test_marker_bound_covers_every_count(counter):
    n = 12_000
    counts = counter.count([prompt.omission_line(k) for k in range(1, n + 1)])
    for limit in (1, 9, 10, 99, 100, 1234, n):
        assert counter.marker_bound(limit) == max(counts[:limit])


def test_sample_tokens_equal_the_chat_template(counter):
    lines = ["[1] 2024-03-01 09:00 Bob: 我觉得 ok", prompt.omission_line(3)]
    context, context_tokens = prompt.context_text(lines), counter.context_tokens(counter.count(lines))
    questions = [prompt.question_text("COE prices are too high", "Bob"), prompt.question_text("统一", "Chen Wei")]
    question_tokens = counter.count(questions)
    for k, answers in ((1, ["yes"]), (2, ["no", "yes"])):
        messages = prompt.multi_chat(context, questions[:k], answers)
        assert len(counter.chat_ids(messages)) == counter.sample_tokens(context_tokens, question_tokens[:k], answers)
    budget = counter.budget_for_context(100, [question_tokens[:1], question_tokens])
    assert budget == 100 - counter.overhead - counter.questions_tokens(question_tokens)
