"""Token accounting: piecewise counts equal whole-text counts, and the guards catch it when not."""

from __future__ import annotations

import json

import pytest

from prep import build, prompt
from prep.strategies import STRATEGIES, Options, prepare_conversation
from prep.tokens import TokenCounter
from prep.validate import load_tables

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


def prepare_demo(tables, counter: TokenCounter) -> list:
    ids = sorted({m["conversation_id"] for m in tables.messages})
    return [prepare_conversation(cid, [m for m in tables.messages if m["conversation_id"] == cid],
                                 [s for s in tables.stances if s["conversation_id"] == cid], counter) for cid in ids]


def test_message_lines_count_piecewise_as_a_whole(counter, demo_tables):
    messages, stances = awkward_conversation()
    conversations = [prepare_conversation("x", messages, stances, counter)] + prepare_demo(demo_tables, counter)
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


@pytest.fixture(scope="module")
def metaspace_counter(demo_tables, tmp_path_factory) -> TokenCounter:
    """A SentencePiece-style tokenizer like Mistral's and Llama 2's, trained here on the demo set:
    '▁' marks spaces and the start of the text, digits stay single, a line break is a byte token."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [prompt.message_line(i, m, None) for i, m in enumerate(demo_tables.messages)]
    texts += [prompt.INSTRUCTIONS, prompt.question_text("claim", "someone"), prompt.omission_line(12), "[INST] [/INST]"]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(prepend_scheme="first"),
                                                       pre_tokenizers.Digits(individual_digits=True)])
    tokenizer.train_from_iterator([t.replace("\n", " ") for t in texts],
                                  trainers.BpeTrainer(vocab_size=3000, special_tokens=["<unk>", "<s>", "</s>"]))
    spec = json.loads(tokenizer.to_str())
    spec["model"]["byte_fallback"] = True
    for byte in range(256):
        spec["model"]["vocab"].setdefault(f"<0x{byte:02X}>", len(spec["model"]["vocab"]))
    spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    fast = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)),
                                   bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    fast.chat_template = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}"
                          "{{ '[INST] ' + m['content'] + ' [/INST]' }}"
                          "{% else %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}")
    assert fast.tokenize("the\n[1]") == ["▁the", "<0x0A>", "[", "1", "]"]
    path = tmp_path_factory.mktemp("metaspace")
    fast.save_pretrained(path)
    return TokenCounter(path)


def test_accounting_is_exact_for_a_sentencepiece_style_tokenizer(metaspace_counter, demo_tables):
    conversations = prepare_demo(demo_tables, metaspace_counter)  # checks piecewise line counts on the way
    checked = 0
    for conversation in conversations:
        for strategy in ("truncate", "focus", "snippets"):
            for layout in ("pair", "multi"):
                options = Options(layout=layout, questions_per_sample=3)
                contexts = STRATEGIES[strategy](conversation, metaspace_counter, 1024, options)
                for context in contexts[:2]:
                    for row in build.sample_rows(conversation, context, metaspace_counter, strategy, layout, 3)[:2]:
                        assert len(metaspace_counter.chat_ids(row["messages"])) == row["meta"]["n_tokens"] <= 1024
                        checked += 1
    assert checked > 200


def test_chat_ids_equal_transformers(counter, metaspace_counter, model_dir, tmp_path):
    """prep renders the chat template and encodes without transformers; the ids are transformers' own,
    for a byte-level BPE and a SentencePiece-style tokenizer, and for a template kept in
    tokenizer_config.json instead of chat_template.jinja."""
    from transformers import AutoTokenizer

    questions = [prompt.question_text("COE prices are too high", "P01"), prompt.question_text("统一 \"quoted\"", "P02")]
    conversation = prompt.multi_chat(prompt.context_text(["[1] 2024-03-01 09:00 P01: 我觉得 ok  <URL>"]), questions,
                                     ["yes", "no"])
    for tokens in (counter, metaspace_counter):
        reference = AutoTokenizer.from_pretrained(tokens.tokenizer_path)
        for messages, generation in ((conversation, False), (conversation[:1], True)):
            expected = reference.apply_chat_template(messages, tokenize=True, add_generation_prompt=generation,
                                                     return_dict=False)
            assert tokens.chat_ids(messages, generation) == list(expected)
        assert tokens.tokenizer.eos_token == reference.eos_token
    folder = tmp_path / "config-template"
    folder.mkdir()
    (folder / "tokenizer.json").write_bytes((model_dir / "tokenizer.json").read_bytes())
    config = json.loads((model_dir / "tokenizer_config.json").read_text())
    config["chat_template"] = (model_dir / "chat_template.jinja").read_text()
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    assert TokenCounter(folder).chat_ids(conversation) == counter.chat_ids(conversation)


def test_a_folder_without_a_chat_template_is_the_users_to_fix(model_dir, tmp_path):
    from core.cli import UserError

    (tmp_path / "tokenizer.json").write_bytes((model_dir / "tokenizer.json").read_bytes())
    with pytest.raises(UserError, match="no chat template"):
        TokenCounter(tmp_path)
