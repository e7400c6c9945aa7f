"""Evidence per answer: every source ranks the contributor's messages for the answer given, and
leave-one-message-out with the prefix cache reproduces scoring each ablated context alone."""

from __future__ import annotations

import json

import pytest

from core.cli import UserError
from core.jsonl import read_jsonl, write_jsonl
from core.runs import prediction_row
from eval import evidence, loglik, predict
from prep import build, prompt

LINES = ["[1] 2024-01-01 10:00 A: one", "[… 2 messages omitted …]", "[4] 2024-01-01 10:03 B: four",
         "[5] 2024-01-01 10:04 A: five", "[6] 2024-01-01 10:05 C: six"]


def test_left_out_messages_become_omission_lines_merged_with_their_neighbours():
    assert evidence.without(LINES, {4}) == [LINES[0], prompt.omission_line(3), LINES[3], LINES[4]]
    assert evidence.without(LINES, {4, 5}) == [LINES[0], prompt.omission_line(4), LINES[4]]
    assert evidence.without(LINES, {1, 6}) == [prompt.omission_line(3), LINES[2], LINES[3], prompt.omission_line(1)]
    assert evidence.without(LINES, set()) == LINES


def tables_dir(tmp_path, messages, stances=()):
    write_jsonl(tmp_path / "tables" / "messages.jsonl", messages)
    write_jsonl(tmp_path / "tables" / "stances.jsonl", stances)
    return tmp_path / "tables"


def message(conversation_id, message_id, author):
    return {"conversation_id": conversation_id, "message_id": message_id, "author": author,
            "timestamp": "2024-01-01T10:00:00+08:00", "text": message_id, "reply_to": None}


def meta(contributor, label, **extra):
    return {"conversation_id": "c1", "statement_id": "s1", "contributor": contributor, "label": label,
            "context_id": f"c1/{extra.get('message_id', contributor)}", **extra}


def test_snippet_runs_rank_their_messages_for_the_answer_given(tmp_path):
    tables = tables_dir(tmp_path, [message("c1", f"m{i}", "A" if i < 4 else "B") for i in range(1, 6)])
    rows = [prediction_row(meta("A", "yes", message_id=m), "loglik", "yes" if p >= 0.5 else "no", p)
            for m, p in (("m1", 0.2), ("m2", 0.9), ("m3", 0.6))]
    rows += [prediction_row(meta("B", "no", message_id=m), "loglik", "no", p) for m, p in (("m4", 0.3), ("m5", 0.1))]
    by_contributor = {e["contributor"]: e for e in evidence.build(rows, tables)}
    a, b = by_contributor["A"], by_contributor["B"]
    assert (a["answer"], a["source"], a["unread"]) == ("yes", "snippets", [])
    assert [m["message_id"] for m in a["messages"]] == ["m2", "m3", "m1"]  # most yes first
    assert b["answer"] == "no" and [m["message_id"] for m in b["messages"]] == ["m5", "m4"]  # most no first
    assert [m["score"] for m in b["messages"]] == [0.1, 0.3]  # scores stay support for yes


def test_encoder_message_scores_are_the_evidence_and_unscored_messages_are_unread(tmp_path):
    tables = tables_dir(tmp_path, [message("c1", m, "A") for m in ("m1", "m2", "m3")])
    row = prediction_row(meta("A", "yes"), "classifier", "yes", 0.8,
                         message_scores=[{"message_id": "m2", "score": 0.7}, {"message_id": "m1", "score": 0.1}])
    [found] = evidence.build([row], tables)
    assert found["source"] == "message-scores"
    assert [m["message_id"] for m in found["messages"]] == ["m2", "m1"] and found["unread"] == ["m3"]


def test_one_context_runs_need_the_prepared_rows_and_the_model(tmp_path):
    tables = tables_dir(tmp_path, [message("c1", "m1", "A")])
    with pytest.raises(UserError, match="--data"):
        evidence.build([prediction_row(meta("A", "yes"), "loglik", "yes", 0.8)], tables)


@pytest.fixture(scope="module")
def focus_data(model_dir, demo_dir, tmp_path_factory):
    """Two demo conversations in focus contexts (their contributors post several times)."""
    out = tmp_path_factory.mktemp("focus")
    keep = {"demo-01", "demo-02"}
    for name in ("messages", "stances"):
        write_jsonl(out / f"{name}.jsonl", [r for r in read_jsonl(demo_dir / f"{name}.jsonl") if r["conversation_id"] in keep])
    build.main(["--messages", str(out / "messages.jsonl"), "--stances", str(out / "stances.jsonl"),
                "--tokenizer", str(model_dir), "--strategy", "focus", "--sequence-len", "512", "--split", "0,0,1",
                "--out", str(out / "prepared")])
    return out / "prepared"


@pytest.fixture(scope="module")
def model(model_dir):
    return predict.load_model(str(model_dir))


@pytest.mark.slow  # prep + SmolLM2 on CPU: about a minute on 2 quiet cores
def test_leave_one_out_with_the_prefix_cache_equals_scoring_each_ablation_alone(focus_data, model):
    tokenizer, lm = model
    answer_ids = loglik.answer_token_ids(tokenizer)
    rows = read_jsonl(focus_data / "test.jsonl")
    row = max(rows, key=lambda r: r["meta"]["contributor_messages_kept"])
    assert row["meta"]["contributor_messages_kept"] >= 3
    conversation = evidence.conversations(focus_data / "tables")[row["meta"]["conversation_id"]]
    ablator = evidence.LoglikAblator(tokenizer, lm, answer_ids, row, conversation)
    assert len(ablator.numbers) == row["meta"]["contributor_messages_kept"]
    assert all(conversation[n - 1]["author"] == row["meta"]["contributor"] for n in ablator.numbers.values())
    full = loglik.score_alone(lm, ablator.base, answer_ids)["p_yes"]
    assert full == pytest.approx(loglik.score_alone(lm, loglik.prompt_ids(tokenizer, row), answer_ids)["p_yes"])
    for message_id, drop in ablator.leave_one_out().items():
        alone = loglik.score_alone(lm, ablator.ids({ablator.numbers[message_id]}), answer_ids)["p_yes"]
        assert drop == pytest.approx(full - alone, abs=1e-4)
    several = set(list(ablator.numbers)[:2])
    [p_yes] = ablator.score([several])
    assert p_yes == pytest.approx(
        loglik.score_alone(lm, ablator.ids({ablator.numbers[m] for m in several}), answer_ids)["p_yes"], abs=1e-4)


@pytest.mark.slow
def test_predict_writes_evidence_for_every_pair_beside_its_predictions(focus_data, model_dir, tmp_path):
    data = tmp_path / "one_conversation.jsonl"
    write_jsonl(data, [r for r in read_jsonl(focus_data / "test.jsonl") if r["meta"]["conversation_id"] == "demo-01"][:2])
    out = tmp_path / "run" / "predictions.jsonl"
    predictions = predict.main(["--model", str(model_dir), "--data", str(data), "--out", str(out), "--evidence",
                                "--tables", str(focus_data / "tables")])
    found = read_jsonl(tmp_path / "run" / "evidence.jsonl")
    assert len(found) == len(predictions)
    for row, explained in zip(predictions, found):
        assert (explained["answer"], explained["p_yes"]) == (row["prediction"], row["p_yes"])
        assert explained["source"] == "leave-one-out"
        assert len(explained["messages"]) == row["meta"]["contributor_messages_kept"]
        assert len(explained["unread"]) == row["meta"]["contributor_messages_dropped"]
        scores = [m["score"] for m in explained["messages"]]
        assert scores == sorted(scores, reverse=explained["answer"] == "yes")
    assert json.loads((tmp_path / "run" / "run.json").read_text())["evidence"] is True
