"""Train an encoder on a prepared train split, choose on dev, score test: one run folder.

    python -m encoders.train encoders/configs/cross_encoder.yml --data data/prepared/<name> \\
        --out runs/<run> [--set key=value ...]

Trains on DATA/train.jsonl; picks the checkpoint (epoch, pooling, ...), fits the debate stage
(`encoders.debate`, with `debate: true`) and the P(yes) threshold on DATA/dev.jsonl (eval's contributor-level tuning under the config's aggregation);
writes OUT/dev_predictions.jsonl and OUT/predictions.jsonl (test) in eval's run format, mode
'classifier', OUT/run.json and what `encoders.predict` needs to score other data with the same
model, pooling and threshold. Score it like any run:

    python -m eval.score --predictions OUT/predictions.jsonl \\
        --dev-predictions OUT/dev_predictions.jsonl --aggregation any-yes
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from transformers import set_seed

from core.cli import run_cli
from core.jsonl import write_jsonl
from core.manifest import manifest
from encoders import bi_encoder, cross_encoder, debate, tfidf
from encoders.config import load, model_path
from encoders.data import SPLITS, read_split, sample, with_windows
from encoders.decide import MODE, prediction_rows, tuned
from encoders.windows import read_windows

MODULES = {"cross-encoder": cross_encoder, "bi-encoder": bi_encoder, "tfidf": tfidf}


def questions_of(config, data: Path, split: str) -> tuple[list, dict]:
    """A split's questions; with message windows, each carries its contributor's (DATA/tables)."""
    questions, read = read_split(data, split)
    if getattr(config, "windows", "context") == "messages":
        questions = with_windows(questions, read_windows(data / "tables"), config.max_windows, f"{data}/{split}.jsonl")
    return questions, read


def rows(fitted, questions: list, p_yes, threshold: float) -> list[dict]:
    scores = fitted.message_scores(questions) if fitted.message_scores else None
    return prediction_rows(questions, p_yes, threshold, scores)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="encoders/configs/<model>.yml")
    parser.add_argument("--data", required=True, type=Path, help="prep.build output folder ({train,dev,test}.jsonl)")
    parser.add_argument("--out", required=True, type=Path, help="run folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key (repeatable)")
    args = parser.parse_args(argv)
    config = load(args.config, args.set)
    set_seed(config.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    (train_all, train_read), (dev, dev_read), (test, test_read) = (questions_of(config, args.data, s) for s in ("train", "dev", "test"))
    train = sample(train_all, config.max_train_questions, config.seed)
    print(f"{config.kind} {config.model} on {device}: {len(train)} of {len(train_all)} train questions, "
          f"{len(dev)} dev, {len(test)} test")

    started, cpu = time.perf_counter(), time.process_time()
    base = MODULES[config.kind].fit(config, train, dev, device)
    fitted = debate.stage(base, dev, debate.reply_counts(args.data / "tables"), config.seed) if config.debate else base
    train_seconds, train_cpu = time.perf_counter() - started, time.process_time() - cpu
    threshold = tuned(dev, fitted.dev_p_yes, config.aggregation)
    started, cpu = time.perf_counter(), time.process_time()
    test_p_yes = fitted.p_yes(test)
    score_seconds, score_cpu = time.perf_counter() - started, time.process_time() - cpu

    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "dev_predictions.jsonl", rows(fitted, dev, fitted.dev_p_yes, threshold["value"]))
    write_jsonl(args.out / "predictions.jsonl", rows(fitted, test, test_p_yes, threshold["value"]))
    MODULES[config.kind].save(base, args.out)
    if config.debate:
        debate.save(fitted, args.out)
    run = {
        "model": config.model, "model_path": model_path(config.model), "kind": config.kind, "mode": MODE,
        "config": str(args.config), "overrides": args.set, "settings": config.model_dump(), "data": str(args.data),
        "device": device, "threshold": threshold["value"], "dev_f1": threshold["dev_f1"],
        "aggregation": config.aggregation, "chosen_on_dev": fitted.chosen, "dev_history": fitted.history,
        "questions": {"train_used": len(train), "train_used_yes": sum(q.label for q in train), "train": train_read, "dev": dev_read, "test": test_read},
        "train_seconds": round(train_seconds, 2), "score_seconds": round(score_seconds, 2),
        "train_cpu_seconds": round(train_cpu, 2), "score_cpu_seconds": round(score_cpu, 2),  # all threads: wall on a busy machine overstates
        "manifest": manifest(config.model_dump(), [args.data / f"{split}.jsonl" for split in SPLITS], config.seed),
    }
    (args.out / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    print(f"dev F1 {threshold['dev_f1']:.3f} at threshold {threshold['value']:.4f} ({fitted.chosen}); "
          f"train {train_seconds:.0f} s, test scoring {score_seconds:.0f} s -> {args.out}")
    return run


if __name__ == "__main__":
    run_cli(main)
