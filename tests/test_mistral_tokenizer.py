"""The real Mistral-7B-Instruct-v0.2 tokenizer (prep.mistral_tokenizer): prep's token accounting is
exact on it, and its chat template gives the ids mistral-common's own instruct encoding gives.

The exactness tests are the strategy and token tests, collected here a second time with `counter`
(and the SentencePiece `metaspace_counter`) bound to the Mistral folder."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from prep import build, prompt
from prep.mistral_tokenizer import DEFAULT_DIR, MODEL, SHA256, materialise
from prep.strategies import STRATEGIES, Options
from prep.tokens import TokenCounter
from test_strategies import DEMO_LEN, WordsBackend, demo, long, summarised, test_contexts_fit_the_budget_token_exactly  # noqa: F401
from test_tokens import demo_tables, test_accounting_is_exact_for_a_sentencepiece_style_tokenizer  # noqa: F401



@pytest.fixture(scope="module")
def mistral_dir():
    return materialise(ROOT / DEFAULT_DIR)


@pytest.fixture(scope="module")
def counter(mistral_dir) -> TokenCounter:
    return TokenCounter(mistral_dir)


@pytest.fixture(scope="module")
def metaspace_counter(counter) -> TokenCounter:
    return counter


def test_folder_is_the_checked_v1_model_with_32000_pieces(mistral_dir, counter):
    marker = json.loads((mistral_dir / "materialised.json").read_text())
    assert marker["sha256"] == SHA256 and marker["tokenizer_of"] == MODEL
    assert counter.tokenizer.backend.get_vocab_size() == 32000
    assert counter.tokenizer.backend.encode("[INST]", add_special_tokens=False).tokens == ["▁[", "INST", "]"]


def test_a_model_file_with_another_checksum_is_refused(tmp_path):
    other = tmp_path / "tokenizer.model"
    other.write_bytes(b"not Mistral's SentencePiece model")
    with pytest.raises(ValueError, match="sha256"):
        materialise(tmp_path / "out", source=other)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("layout", ["pair", "multi"])
def test_summarise_rows_are_exact(layout, counter, demo, tmp_path):
    conversation = max(demo, key=lambda c: sum(c.line_tokens))
    context = summarised(conversation, counter, WordsBackend(12), tmp_path, summary_chunk_tokens=4096)
    rows = build.sample_rows(conversation, context, counter, "summarise", layout, 4)
    assert context.meta["summary_lines"] and rows
    for row in rows:
        assert len(counter.chat_ids(row["messages"])) == row["meta"]["n_tokens"] <= DEMO_LEN


def mistral_common_ids(messages: list[dict]) -> list[int]:
    """mistral-common's v1 instruct encoding of the same user and assistant turns."""
    from mistral_common.protocol.instruct.messages import AssistantMessage, UserMessage
    from mistral_common.protocol.instruct.request import InstructRequest
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    from prep.mistral_tokenizer import bundled_model

    tokenizer = MistralTokenizer.from_file(str(bundled_model()))
    turns = [UserMessage(content=m["content"]) if m["role"] == "user" else AssistantMessage(content=m["content"])
             for m in messages]
    return tokenizer.instruct_tokenizer.encode_instruct(InstructRequest(messages=turns)).tokens


@pytest.mark.parametrize("layout", ["pair", "multi"])
def test_prompt_ids_equal_mistral_commons_instruct_encoding(layout, counter, demo):
    rows = [row for conversation in demo[:3]
            for context in [STRATEGIES["focus"](conversation, counter, DEMO_LEN, Options(layout=layout))[0]]
            for row in build.sample_rows(conversation, context, counter, "focus", layout, 3)]
    assert any(len(row["messages"]) > 2 for row in rows) == (layout == "multi")
    for row in rows:
        assert counter.chat_ids(row["messages"]) == mistral_common_ids(row["messages"])


def test_a_system_turn_is_refused_as_mistral_common_refuses_it(counter):
    messages = [{"role": "system", "content": "x"}] + prompt.multi_chat(prompt.context_text(["[1] x"]), ["q"], ["yes"])
    with pytest.raises(Exception, match="alternating user and assistant"):
        counter.chat_ids(messages)
