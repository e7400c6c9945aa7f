"""Prefix-cached, batched scoring reproduces plain per-question scoring; both modes write run rows."""

from __future__ import annotations

import json

import pytest
import torch

from core.cli import UserError
from core.jsonl import read_jsonl
from core.labels import ANSWERS
from core.runs import PREDICTIONS_SCHEMA_VERSION, load_predictions
from eval import loglik, predict, score
from eval.parse import parse_answer
from prep import build


@pytest.fixture
def test_rows(tiny_tables, model_dir, tmp_path):
    messages, stances = tiny_tables
    build.main(["--messages", str(messages), "--stances", str(stances), "--tokenizer", str(model_dir),
                "--strategy", "full", "--sequence-len", "1024", "--split", "0,0,1", "--out", str(tmp_path / "prepared")])
    return tmp_path / "prepared" / "test.jsonl"


@pytest.fixture(scope="module")
def model(model_dir):
    return predict.load_model(str(model_dir))


def test_packed_suffixes_see_the_prefix_and_only_themselves():
    inputs = loglik.packed_inputs([[5, 6, 7], [8, 9]], prefix_len=4, dtype=torch.float32, device="cpu")
    allowed = inputs["attention_mask"][0, 0] == 0
    assert allowed.shape == (5, 9)
    assert allowed[:, :4].all()  # every question token sees the whole prefix
    assert allowed[:3, 4:7].tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert not allowed[3:, 4:7].any() and not allowed[:3, 7:].any()  # never the other question
    assert allowed[3:, 7:].tolist() == [[True, False], [True, True]]
    assert inputs["position_ids"][0].tolist() == [4, 5, 6, 4, 5]  # positions restart after the prefix
    assert inputs["logits_to_keep"].tolist() == [2, 4]  # each question's last token


def test_batched_prefix_scores_equal_unbatched_and_uncached(test_rows, model):
    tokenizer, lm = model
    answer_ids = loglik.answer_token_ids(tokenizer)
    rows = read_jsonl(test_rows)
    groups = predict.by_conversation_and_context(rows)
    assert max(len(g) for contexts in groups.values() for g in contexts.values()) == 3
    for contexts in groups.values():
        for group in contexts.values():
            sequences = [loglik.prompt_ids(tokenizer, r) for r in group]
            alone = [loglik.score_alone(lm, s, answer_ids) for s in sequences]
            for batch_size in (1, 2, 8):
                cached = loglik.score_group(lm, sequences, answer_ids, batch_size)
                for c, a in zip(cached, alone):
                    assert c["p_yes"] == pytest.approx(a["p_yes"], abs=1e-4)
                    assert c["logprob_yes"] == pytest.approx(a["logprob_yes"], abs=1e-3)
                    assert c["logprob_no"] == pytest.approx(a["logprob_no"], abs=1e-3)


def test_answer_variants_are_single_tokens(model):
    tokenizer, _ = model
    ids = loglik.answer_token_ids(tokenizer)
    decoded = {answer: {tokenizer.decode([i]).strip().lower() for i in token_ids} for answer, token_ids in ids.items()}
    assert decoded == {"yes": {"yes"}, "no": {"no"}}


def test_loglik_cli_writes_versioned_rows_that_score(test_rows, model_dir, tmp_path):
    out = tmp_path / "run" / "predictions.jsonl"
    rows = predict.main(["--model", str(model_dir), "--data", str(test_rows), "--out", str(out), "--batch-size", "2"])
    assert len(rows) == 5 and load_predictions(out) == rows
    for row in rows:
        assert row["schema_version"] == PREDICTIONS_SCHEMA_VERSION and row["mode"] == "loglik"
        assert row["prediction"] == ("yes" if row["p_yes"] >= 0.5 else "no")
        assert row["meta"]["context_id"] == row["context_id"] and row["gold"] == row["meta"]["label"]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["mode"] == "loglik" and run["questions"] == {"predictions.jsonl": 5}
    assert run["manifest"]["data_sha256"] and run["manifest"]["versions"]["torch"]
    metrics = score.main(["--predictions", str(out), "--tables", str(test_rows.parent / "tables")])
    assert metrics["n"] == 5 and metrics["calibration"] is not None
    assert {r["group"] for r in metrics["breakdowns"]["language"]} == {"en", "zh"}  # prep's detected languages
    assert sum(r["n"] for r in metrics["breakdowns"]["position"]) == 5
    assert set(metrics["human_ceiling"]["per_annotator"]) == {"annotator_1", "annotator_2", "annotator_3"}


def test_generate_mode_parses_text_and_reads_the_same_p_yes(test_rows, model):
    tokenizer, lm = model
    rows = read_jsonl(test_rows)[:2]
    generated = predict.predict(tokenizer, lm, rows, mode="generate", max_new_tokens=3)
    scored = predict.predict(tokenizer, lm, rows, mode="loglik")
    for g, s in zip(generated, scored):
        assert g["mode"] == "generate" and g["raw"] is not None
        assert g["prediction"] in ANSWERS and g["prediction"] == parse_answer(g["raw"])
        assert g["p_yes"] == pytest.approx(s["p_yes"], abs=1e-4)


def test_rows_with_several_questions_are_refused(test_rows, model):
    tokenizer, lm = model
    row = read_jsonl(test_rows)[0]
    row["messages"] += [{"role": "user", "content": "another question"}, {"role": "assistant", "content": "no"}]
    with pytest.raises(ValueError, match="several questions"):
        predict.predict(tokenizer, lm, [row])


def test_a_prepared_folder_is_answered_dev_and_test_and_scored_on_its_dev_threshold(tiny_tables, model_dir, tmp_path):
    messages, stances = tiny_tables
    prepared, run = tmp_path / "prepared", tmp_path / "run"
    build.main(["--messages", str(messages), "--stances", str(stances), "--tokenizer", str(model_dir), "--strategy",
                "full", "--sequence-len", "1024", "--split", "0,0.5,0.5", "--seed", "0", "--out", str(prepared)])
    predict.main(["--model", str(model_dir), "--data", str(prepared), "--out", str(run)])
    recorded = json.loads((run / "run.json").read_text())
    assert set(recorded["questions"]) == {"dev_predictions.jsonl", "predictions.jsonl"}
    assert len(load_predictions(run / "dev_predictions.jsonl")) == recorded["questions"]["dev_predictions.jsonl"]
    found = score.main(["--predictions", str(run / "predictions.jsonl")])
    assert found["threshold"]["source"].startswith(f"tuned on {run / 'dev_predictions.jsonl'}")
    assert found["manifest"]["data_sha256"] and found["manifest"]["seed"] == 0
    kept = score.main(["--predictions", str(run / "predictions.jsonl"), "--as-predicted"])
    assert kept["threshold"]["source"] == "as predicted"


def test_a_folder_without_its_splits_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no dev.jsonl or test.jsonl"):
        predict.split_jobs(tmp_path, tmp_path / "run")
