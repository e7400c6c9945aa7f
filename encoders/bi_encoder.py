"""Bi-encoder: question and context embedded apart; logistic regression on [u, v, |u-v|, u*v].

A context longer than the encoder's window is cut into windows of `window_tokens` tokens,
counted back from its end (so the last window ends on a snippet's own message), at most the
last `max_windows` of them; each window is an exact character span of the rendered text (the
tokenizer's offsets). Each distinct context is embedded once, then pooled into v: `mean`,
element-wise `max`, the `last` window, or the window `nearest` the question (cosine). The
pooling and the regularisation C are chosen by contributor-level dev F1.

With `contrastive_epochs` > 0 the encoder is first fine-tuned SetFit-style (cosine-similarity
loss on (question, context) pairs: 1 for yes, 0 for no); the fine-tuned encoder is kept only if
its best dev F1 beats the plain encoder's, and both are recorded.

With `windows: messages` the windows are the contributor's own messages instead, each with what
it replies to (`encoders.windows`): everything they wrote, pooled into one v. Each window can
also be scored alone (v = that window), which ranks the contributor's messages
(`message_scores`). The frozen encoder's window embeddings can be kept in `embedding_cache`.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import joblib
import numpy as np
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from encoders.config import SPECIAL_TOKENS, BiEncoderConfig, load_weights
from encoders.data import Question
from encoders.decide import tuned
from encoders.embedding_cache import cached_encode
from encoders.fitted import Fitted
from encoders.windows import best_per_message


def windows(offsets: list[tuple[int, int]], text: str, size: int, overlap: int, limit: int | None) -> list[str]:
    """Spans of `size` tokens counted back from the end, `overlap` tokens shared, the last `limit` kept."""
    if not offsets:
        return [text]
    spans, end = [], len(offsets)
    while True:
        start = max(0, end - size)
        spans.append(text[offsets[start][0]:offsets[end - 1][1]])
        if start == 0 or len(spans) == limit:
            return spans[::-1]
        end -= size - overlap


class Embedded:
    """Question embeddings (n, d) and each question's context window embeddings (k_i, d), unit length."""

    def __init__(self, model: SentenceTransformer, questions: list[Question], config: BiEncoderConfig,
                 cache: str | None = None):
        source = (lambda q: q.windows) if config.windows == "messages" else (lambda q: q.context)
        sources = list(dict.fromkeys(source(q) for q in questions))
        texts = list(dict.fromkeys(q.question for q in questions))
        if config.windows == "messages":
            spans = [[w.text for w in s] for s in sources]
        else:
            offsets = model.tokenizer(sources, add_special_tokens=False, return_offsets_mapping=True,
                                      verbose=False)["offset_mapping"]
            size = config.window_tokens - SPECIAL_TOKENS
            spans = [windows(o, c, size, config.window_overlap, config.max_windows) for o, c in zip(offsets, sources)]
        flat = cached_encode(cache, config.model, config.window_tokens, [w for s in spans for w in s],
                             lambda batch: encode(model, batch, config.batch_size))
        bounds = np.cumsum([0, *map(len, spans)])
        by_source = {s: flat[bounds[i]:bounds[i + 1]] for i, s in enumerate(sources)}
        by_question = dict(zip(texts, encode(model, texts, config.batch_size)))
        self.u = np.stack([by_question[q.question] for q in questions])
        self.windows = [by_source[source(q)] for q in questions]

    def features(self, pooling: str) -> np.ndarray:
        v = np.stack([pool(w, u, pooling) for w, u in zip(self.windows, self.u)])
        return np.hstack([self.u, v, np.abs(self.u - v), self.u * v])


def message_scores(head: Pipeline, embedded: Embedded, questions: list[Question]) -> list[list[dict]]:
    """Per question: each of the contributor's messages with the best P(yes) of a window holding
    it alone (v = that window), highest first."""
    scores = []
    for u, windows, question in zip(embedded.u, embedded.windows, questions):
        us = np.repeat(u[None, :], len(windows), axis=0)
        p_yes = head.predict_proba(np.hstack([us, windows, np.abs(us - windows), us * windows]))[:, 1]
        scores.append(best_per_message(question.windows, p_yes))
    return scores


def encode(model: SentenceTransformer, texts: list[str], batch_size: int) -> np.ndarray:
    return model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                        show_progress_bar=True)


def pool(windows: np.ndarray, u: np.ndarray, pooling: str) -> np.ndarray:
    if pooling == "mean":
        mean = windows.mean(axis=0)
        return mean / max(np.linalg.norm(mean), 1e-12)
    if pooling == "max":
        return windows.max(axis=0)
    if pooling == "last":
        return windows[-1]
    if pooling == "nearest":
        return windows[int(np.argmax(windows @ u))]
    raise ValueError(f"unknown pooling {pooling!r}")


def classifier(c: float, seed: int) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=2000,
                                                              random_state=seed))


def best_head(train: Embedded, labels: np.ndarray, dev: Embedded, dev_questions: list[Question],
              config: BiEncoderConfig) -> tuple[dict, list[dict]]:
    """Every (pooling, C) fitted on train and scored on dev; the best by dev F1 (first on ties)."""
    best, history = None, []
    for pooling in config.poolings:
        train_x, dev_x = train.features(pooling), dev.features(pooling)
        for c in config.regularisation:
            head = classifier(c, config.seed).fit(train_x, labels)
            dev_p_yes = head.predict_proba(dev_x)[:, 1]
            dev_f1 = tuned(dev_questions, dev_p_yes, config.aggregation)["dev_f1"]
            history.append({"pooling": pooling, "C": c, "dev_f1": dev_f1})
            if best is None or dev_f1 > best["dev_f1"]:
                best = {"pooling": pooling, "C": c, "dev_f1": dev_f1, "head": head, "dev_p_yes": dev_p_yes}
    return best, history


def contrastive(model: SentenceTransformer, train: list[Question], config: BiEncoderConfig, device: str) -> SentenceTransformer:
    """SetFit-style: pull a question towards contexts where its contributor said it, push it from the others."""
    tuned_model = copy.deepcopy(model)
    dataset = Dataset.from_dict({"question": [q.question for q in train], "context": [q.context for q in train],
                                 "label": [float(q.label) for q in train]})
    with tempfile.TemporaryDirectory() as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, num_train_epochs=config.contrastive_epochs, per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate, warmup_steps=0.1, seed=config.seed, data_seed=config.seed,
            save_strategy="no", eval_strategy="no", logging_strategy="epoch", report_to="none",
            use_cpu=device == "cpu")
        SentenceTransformerTrainer(model=tuned_model, args=args, train_dataset=dataset,
                                   loss=CosineSimilarityLoss(tuned_model)).train()
    return tuned_model


def load_model(config: BiEncoderConfig, device: str) -> SentenceTransformer:
    model = load_weights(SentenceTransformer, config.model, device=device)
    model.max_seq_length = config.window_tokens
    model.tokenizer.truncation_side = "left"  # contrastive pairs keep a context's end, as the last window does
    return model


def scorer(model: SentenceTransformer, head: Pipeline, chosen: dict, config: BiEncoderConfig,
           dev_p_yes=None, history=()) -> Fitted:
    """The chosen encoder, pooling and head as a Fitted (from training, or loaded by `load`)."""
    cache = config.embedding_cache if chosen["encoder"] == "plain" else None
    embedded = lambda questions: Embedded(model, questions, config, cache)
    return Fitted(
        p_yes=lambda questions: head.predict_proba(embedded(questions).features(chosen["pooling"]))[:, 1],
        dev_p_yes=dev_p_yes, chosen=chosen, history=list(history), model={"encoder": model, "head": head},
        message_scores=(lambda questions: message_scores(head, embedded(questions), questions))
        if config.windows == "messages" else None)


def fit(config: BiEncoderConfig, train: list[Question], dev: list[Question], device: str) -> Fitted:
    labels = np.array([q.label for q in train])
    encoders = {"plain": load_model(config, device)}
    if config.contrastive_epochs:
        encoders["contrastive"] = contrastive(encoders["plain"], train, config, device)
    best, history = None, []
    for name, model in encoders.items():
        cache = config.embedding_cache if name == "plain" else None
        head, tried = best_head(Embedded(model, train, config, cache), labels, Embedded(model, dev, config, cache),
                                dev, config)
        history += [{"encoder": name, **h} for h in tried]
        if best is None or head["dev_f1"] > best["dev_f1"]:
            best = {**head, "encoder": name, "model": model}
    return scorer(best["model"], best["head"], {k: best[k] for k in ("encoder", "pooling", "C")}, config,
                  best["dev_p_yes"], history)


def save(fitted: Fitted, folder: Path) -> None:
    """The head (and a fine-tuned encoder) into the run folder, for `encoders.predict`."""
    joblib.dump(fitted.model["head"], folder / "head.joblib")
    if fitted.chosen["encoder"] != "plain":
        fitted.model["encoder"].save(str(folder / "encoder"))


def load(folder: Path, config: BiEncoderConfig, chosen: dict, device: str) -> Fitted:
    if chosen["encoder"] != "plain":
        config = config.model_copy(update={"model": str(folder / "encoder")})
    return scorer(load_model(config, device), joblib.load(folder / "head.joblib"), chosen, config)
