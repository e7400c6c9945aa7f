"""Answer prepared questions with a causal LM (+ optional LoRA adapter): predictions.jsonl.

    python -m eval.predict --model models/smollm2-135m-instruct --adapter runs/smollm2_cpu/adapter \\
        --data data/prepared/demo --out runs/smollm2_cpu [--mode loglik]

With a prepared folder as --data, dev.jsonl and test.jsonl are answered in one call, into
OUT/dev_predictions.jsonl and OUT/predictions.jsonl (what `eval.score` looks for); with one
JSONL file, --out is the predictions file.

Modes: 'loglik' (default) reads P(yes) from the label-token log-probabilities, the shared
prefix of each context run once (`eval.loglik`); 'generate' generates greedily per question and
parses the text (`eval.generate`). Rows follow `core.runs`; a run.json beside them records
the settings, seconds and manifest (`core.manifest`). --evidence also writes each pair's evidence
beside its predictions (`eval.evidence`: per-snippet P(yes), or leave-one-message-out on one
context per pair).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import torch
from tqdm import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from core.cli import UserError, run_cli
from core.jsonl import read_jsonl, write_jsonl
from core.manifest import manifest
from core.runs import prediction_row, question_meta
from eval import evidence, loglik
from eval.generate import generate_answer


def load_model(model_path: str, adapter: str | None = None):
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
    except OSError as error:  # not a model folder, nor a model in the local cache
        raise UserError(f"--model {model_path}: {error}") from None
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return tokenizer, model.to(device).eval()


def by_conversation_and_context(rows: list[dict]) -> dict[str, dict[str, list[dict]]]:
    grouped = defaultdict(lambda: defaultdict(list))
    for row in rows:
        meta = question_meta(row)
        grouped[meta["conversation_id"]][meta["context_id"]].append(row)
    return grouped


def predict(tokenizer, model, rows: list[dict], threshold: float = 0.5, mode: str = "loglik",
            batch_size: int = 8, max_new_tokens: int = 4) -> list[dict]:
    """One prediction row per prepared row; a progress bar step per conversation."""
    answer_ids = loglik.answer_token_ids(tokenizer)
    predictions = []
    for contexts in tqdm(by_conversation_and_context(rows).values(), desc="conversations", unit="conv"):
        for group in contexts.values():
            sequences = [loglik.prompt_ids(tokenizer, r) for r in group]
            if mode == "loglik":
                scores = loglik.score_group(model, sequences, answer_ids, batch_size)
                answers = [{**s, "prediction": "yes" if s["p_yes"] >= threshold else "no"} for s in scores]
            elif mode == "generate":
                answers = [generate_answer(model, tokenizer, s, answer_ids, max_new_tokens) for s in sequences]
            else:
                raise ValueError(f"unknown mode {mode!r}")
            predictions += [prediction_row(r["meta"], mode, **a) for r, a in zip(group, answers)]
    return predictions


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--adapter", help="LoRA adapter folder; omit for zero-shot")
    parser.add_argument("--data", required=True, type=Path,
                        help="prepared JSONL (prep.build output), or a prepared folder: its dev and test splits")
    parser.add_argument("--out", required=True, type=Path, help="predictions file, or the run folder for a prepared folder")
    parser.add_argument("--mode", choices=("loglik", "generate"), default="loglik")
    parser.add_argument("--threshold", type=float, default=0.5, help="decision threshold on P(yes) (loglik mode)")
    parser.add_argument("--batch-size", type=int, default=8, help="questions per forward pass after the shared prefix")
    parser.add_argument("--max-new-tokens", type=int, default=4, help="generate mode")
    parser.add_argument("--evidence", action="store_true",
                        help="also write the evidence of every answer (eval.evidence) beside its predictions")
    parser.add_argument("--tables", type=Path, help="prep's OUT/tables for --evidence (default: beside --data)")
    args = parser.parse_args(argv)
    jobs = split_jobs(args.data, args.out)
    torch.manual_seed(0)
    tokenizer, model = load_model(args.model, args.adapter)
    settings = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}
    run = {**settings, "device": str(model.device), "questions": {}, "seconds": {},
           "manifest": manifest({k: v for k, v in settings.items() if k != "out"}, list(jobs), seed=0)}
    for data, out in jobs.items():
        started = time.perf_counter()
        rows = read_jsonl(data)
        predictions = predict(tokenizer, model, rows, args.threshold, args.mode, args.batch_size, args.max_new_tokens)
        seconds = time.perf_counter() - started
        write_jsonl(out, predictions)
        run["questions"][out.name], run["seconds"][out.name] = len(predictions), round(seconds, 2)
        print(f"{len(predictions)} predictions in {seconds:.1f} s -> {out}")
        if args.evidence:
            started = time.perf_counter()
            explained = evidence.build(predictions, args.tables or data.parent / "tables", None, rows,
                                       evidence.llm_ablator(tokenizer, model))
            write_jsonl(evidence.evidence_path(out), explained)
            run["seconds"][evidence.evidence_path(out).name] = round(time.perf_counter() - started, 2)
            print(f"{len(explained)} pairs' evidence in {time.perf_counter() - started:.1f} s")
    (out.parent / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return predictions


def split_jobs(data: Path, out: Path) -> dict[Path, Path]:
    """Prepared file -> predictions file: one file as given, or a prepared folder's dev and test."""
    if not data.is_dir():
        if not data.is_file():
            raise UserError(f"{data}: file not found")
        return {data: out}
    missing = [name for name in ("dev.jsonl", "test.jsonl") if not (data / name).is_file()]
    if missing:
        raise UserError(f"{data}: no {' or '.join(missing)} (a prepared folder, as prep.build writes it)")
    return {data / "dev.jsonl": out / "dev_predictions.jsonl", data / "test.jsonl": out / "predictions.jsonl"}


if __name__ == "__main__":
    run_cli(main)
