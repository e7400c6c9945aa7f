"""Apply a trained encoder run to any prepared data: its model, pooling and frozen dev threshold.

    python -m encoders.predict runs/<run> --data data/prepared/<name>/test.jsonl --out runs/<run>/next.jsonl \\
        [--tables data/prepared/<name>/tables]

RUN_DIR is an `encoders.train` run folder (run.json and the saved head or weights). Writes eval's
run format (mode 'classifier', `p_yes`, the decision at the run's threshold; `message_scores`
where the encoder reads the contributor's messages), so `eval.score --threshold` or as-predicted
scoring reads it like any run. Message windows and the replies the debate stage reads come from
the prepared folder's tables, by default the `tables` folder beside DATA; with the debate stage,
DATA must hold whole conversations (a pair's repliers are scored in the same call).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from core.cli import UserError, run_cli
from core.jsonl import write_jsonl
from encoders import bi_encoder, cross_encoder, debate, tfidf
from encoders.config import CONFIGS
from encoders.data import read_questions, with_windows
from encoders.decide import prediction_rows
from encoders.fitted import Fitted
from encoders.windows import read_windows

MODULES = {"cross-encoder": cross_encoder, "bi-encoder": bi_encoder, "tfidf": tfidf}


def load_run(run_dir: Path, tables: Path) -> tuple[dict, object, Fitted]:
    """An encoders.train run folder's record, config and scorer (its debate stage reading `tables`)."""
    record_path = run_dir / "run.json"
    if not record_path.exists():
        raise UserError(f"{record_path}: not found; RUN_DIR must be an encoders.train run folder")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    config = CONFIGS[record["kind"]](**record["settings"])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    fitted = MODULES[record["kind"]].load(run_dir, config, record["chosen_on_dev"], device)
    if config.debate:
        fitted = debate.load(fitted, run_dir, debate.reply_counts(tables), record["chosen_on_dev"])
    return record, config, fitted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="an encoders.train run folder")
    parser.add_argument("--data", required=True, type=Path, help="a prepared JSONL file, one question per row")
    parser.add_argument("--out", required=True, type=Path, help="predictions JSONL to write")
    parser.add_argument("--tables", type=Path, help="prepared tables folder (default: DATA's folder/tables)")
    args = parser.parse_args(argv)
    tables = args.tables or args.data.parent / "tables"
    record, config, fitted = load_run(args.run_dir, tables)
    questions, _ = read_questions(args.data, one_per_row=True)
    if getattr(config, "windows", "context") == "messages":
        questions = with_windows(questions, read_windows(tables), config.max_windows, str(args.data))
    scores = fitted.message_scores(questions) if fitted.message_scores else None
    write_jsonl(args.out, prediction_rows(questions, fitted.p_yes(questions), record["threshold"], scores))
    print(f"{len(questions)} questions of {args.data} scored with {args.run_dir} -> {args.out}")
    return len(questions)


if __name__ == "__main__":
    run_cli(main)
