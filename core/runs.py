"""The run output format, versioned: predictions.jsonl rows and the run folders they live in.

    runs/<run>/predictions.jsonl  one row per scored question (a pair, or a snippet of a pair)
    runs/<run>/metrics.json       eval.score
    runs/<run>/report.md, *.png   eval.score

A prediction row names its pair (conversation_id, statement_id, contributor), the gold
label, the answer ('yes' / 'no' / '[invalid]'), P(yes) where the mode gives one, the raw
answer text where there is one, and the prep `meta` it was asked with (language, length,
message_id of a snippet, ...), so that scoring and breakdowns need no other file.
"""

from __future__ import annotations

from pathlib import Path

from core.cli import UserError
from core.jsonl import read_jsonl
from core.labels import ANSWERS, LABELS

PREDICTIONS_SCHEMA_VERSION = 2
MODES = ("loglik", "generate", "api", "classifier", "constant")
PAIR_KEYS = ("conversation_id", "statement_id", "contributor")
REQUIRED = (*PAIR_KEYS, "gold", "prediction", "mode")


def pair_key(row: dict) -> tuple[str, str, str]:
    return tuple(row[k] for k in PAIR_KEYS)


def question_meta(row: dict) -> dict:
    """The meta of a prepared one-question row; rows that ask several questions are for training."""
    meta = row["meta"]
    if sum(m["role"] == "assistant" for m in row["messages"]) > 1 or "pairs" in meta:
        raise UserError(f"{meta.get('context_id')}: a row with several questions (multi layout) cannot be "
                        "scored; eval reads dev/test rows, which prep writes one pair per row")
    return meta


def prediction_row(meta: dict, mode: str, prediction: str, p_yes: float | None = None,
                   raw: str | None = None, **extra) -> dict:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if prediction not in ANSWERS:
        raise ValueError(f"prediction must be one of {ANSWERS}, not {prediction!r}")
    return {
        "schema_version": PREDICTIONS_SCHEMA_VERSION,
        **{k: meta[k] for k in PAIR_KEYS}, "gold": meta["label"], "context_id": meta["context_id"],
        "prediction": prediction, "p_yes": p_yes, "raw": raw, "mode": mode, **extra, "meta": meta,
    }


def load_predictions(path: str | Path) -> list[dict]:
    """Read and check a predictions file; a bad row is an error naming file, row and field."""
    rows = read_jsonl(path)
    if not rows:
        raise UserError(f"{path}: no predictions")
    for number, row in enumerate(rows, start=1):
        for field in REQUIRED:
            if field not in row:
                raise UserError(f"{path}: row {number}, field '{field}': missing")
        if row["gold"] not in LABELS:
            raise UserError(f"{path}: row {number}, field 'gold': {row['gold']!r} is not a gold label yes/no")
        p_yes = row.get("p_yes")
        if p_yes is not None and not 0.0 <= p_yes <= 1.0:
            raise UserError(f"{path}: row {number}, field 'p_yes': {p_yes} is not a probability")
        row.setdefault("meta", {})
    return rows
