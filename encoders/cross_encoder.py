"""Cross-encoder: question and context read together, P(yes) from one logit.

sentence-transformers' CrossEncoder and its trainer (binary cross-entropy). It serves the
MiniLM cross-encoder on snippets and the long-context encoder (ModernBERT) alike: any checkpoint
that loads as AutoModelForSequenceClassification. Pairs are (question, context); a context too
long is cut from the left (the tokenizer's truncation side), so the instructions and the
earliest messages go first and a snippet's own message, its last line, stays. After every epoch
the dev set is scored, and the epoch with the best contributor-level dev F1 is kept.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
from transformers import TrainerCallback

from core.cli import UserError
from encoders.config import CrossEncoderConfig, load_weights
from encoders.data import Question
from encoders.decide import tuned
from encoders.fitted import Fitted


def load_model(config: CrossEncoderConfig, device: str) -> CrossEncoder:
    model = load_weights(CrossEncoder, config.model, num_labels=1, max_length=config.max_length, device=device)
    model.tokenizer.truncation_side = "left"
    return model


def pairs(questions: list[Question]) -> list[tuple[str, str]]:
    return [(q.question, q.context) for q in questions]


def p_yes(model: CrossEncoder, questions: list[Question], batch_size: int) -> np.ndarray:
    return model.predict(pairs(questions), batch_size=batch_size, show_progress_bar=True, convert_to_numpy=True)


class KeepBestEpoch(TrainerCallback):
    """Scores dev at the end of every epoch and keeps the weights of the best one (in memory)."""

    def __init__(self, model: CrossEncoder, dev: list[Question], config: CrossEncoderConfig):
        self.model, self.dev, self.config = model, dev, config
        self.epochs: list[dict] = []
        self.best: dict | None = None

    def on_epoch_end(self, args, state, control, **kwargs):
        scores = p_yes(self.model, self.dev, self.config.batch_size)
        choice = tuned(self.dev, scores, self.config.aggregation)
        self.epochs.append({"epoch": round(state.epoch), "dev_f1": choice["dev_f1"], "threshold": choice["value"]})
        if self.best is None or choice["dev_f1"] > self.best["dev_f1"]:
            weights = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            self.best = {"epoch": round(state.epoch), "dev_f1": choice["dev_f1"], "weights": weights, "p_yes": scores}


def positive_weight(config: CrossEncoderConfig, train: list[Question]) -> float:
    """The loss weight of a 'yes' question: a rare 'yes' weighted up keeps the model off the prior."""
    if config.positive_weight != "balanced":
        return config.positive_weight
    yes = sum(q.label for q in train)
    if not yes or yes == len(train):
        raise UserError(f"positive_weight: balanced needs both labels in the train sample ({yes} yes of {len(train)})")
    return (len(train) - yes) / yes


def fit(config: CrossEncoderConfig, train: list[Question], dev: list[Question], device: str) -> Fitted:
    model = load_model(config, device)
    weight = positive_weight(config, train)
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(weight, device=model.device))
    dataset = Dataset.from_dict({"question": [q.question for q in train], "context": [q.context for q in train],
                                 "label": [float(q.label) for q in train]})
    keep_best = KeepBestEpoch(model, dev, config)
    with tempfile.TemporaryDirectory() as scratch:  # nothing is saved: the best weights stay in memory
        args = CrossEncoderTrainingArguments(
            output_dir=scratch, num_train_epochs=config.epochs, per_device_train_batch_size=config.batch_size,
            gradient_accumulation_steps=config.gradient_accumulation_steps,
            gradient_checkpointing=config.gradient_checkpointing, learning_rate=config.learning_rate,
            warmup_steps=config.warmup_ratio, seed=config.seed, data_seed=config.seed, save_strategy="no",
            eval_strategy="no", logging_strategy="epoch", report_to="none", use_cpu=device == "cpu",
            bf16=device == "cuda" and torch.cuda.is_bf16_supported())
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=loss, callbacks=[keep_best])
        trainer.train()
    losses = {round(h["epoch"]): h["loss"] for h in trainer.state.log_history if "loss" in h}
    model.load_state_dict(keep_best.best["weights"])
    return Fitted(
        p_yes=lambda questions: p_yes(model, questions, config.batch_size), dev_p_yes=keep_best.best["p_yes"],
        chosen={"epoch": keep_best.best["epoch"]},
        history=[{**e, "train_loss": losses.get(e["epoch"])} for e in keep_best.epochs], model=model)


def save(fitted: Fitted, folder: Path) -> None:
    """The chosen epoch's weights into the run folder, for `encoders.predict`."""
    fitted.model.save(str(folder / "model"))


def load(folder: Path, config: CrossEncoderConfig, chosen: dict, device: str) -> Fitted:
    model = load_model(config.model_copy(update={"model": str(folder / "model")}), device)
    return Fitted(p_yes=lambda questions: p_yes(model, questions, config.batch_size), dev_p_yes=None, chosen=chosen,
                  model=model)
