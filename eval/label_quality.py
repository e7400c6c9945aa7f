"""Which labels to look at again: labelled pairs ranked by how likely their label is wrong.

    python -m eval.label_quality runs/R --out review.csv [--tables data/prepared/D/tables] [--top 200]

Reads a run's held-out P(yes) on labelled pairs (`predictions.jsonl`, and `dev_predictions.jsonl`
when there is one; snippets are aggregated per pair, P(yes) the highest) and the prepared
stances table with the panel's votes (`tables/stances.jsonl` of the data the run was scored on;
run.json names it). Two estimators from cleanlab, none written here:

- every pair: cleanlab's label-quality score of its gold label (self-confidence: the P the model
  gives that label) and whether its label-issue finder (confident learning) flags it;
- pairs with panel votes: CROWDLAB (`cleanlab.multiannotator`), which weighs each annotator
  and the model by their agreement with the consensus, for a panel whose annotators vary per
  pair: a consensus label, its quality score, and each annotator's quality.

The CSV lists the pairs worst first (lowest quality score); annotator quality is printed and
written beside it (`<out>.annotators.csv`). P(yes) must be held out (test or dev predictions, or
out-of-fold on train): a model scored on its own training labels agrees with them, errors included.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd

from eval.aggregate import contributor_pairs
from core.cli import UserError, run_cli
from core.jsonl import read_jsonl
from core.runs import PAIR_KEYS, load_predictions, pair_key
from prep.tables import ANNOTATOR_PREFIX

CODES = {"no": 0, "yes": 1}


def pred_probs(p_yes: np.ndarray) -> np.ndarray:
    """P(yes) -> cleanlab's (n, 2) class probabilities, columns in CODES order."""
    p_yes = np.clip(np.asarray(p_yes, dtype=float), 1e-6, 1 - 1e-6)
    return np.column_stack([1 - p_yes, p_yes])


def label_issues(labels: np.ndarray, p_yes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab's quality score of each given label (lower: more likely wrong) and its
    label-issue flag (confident learning)."""
    probs = pred_probs(p_yes)
    labels = np.asarray(labels, dtype=int)
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    return get_label_quality_scores(labels, probs), find_label_issues(labels, probs, n_jobs=1)  # no worker pool


def vote_frame(stances: list[dict], annotators: list[str]) -> pd.DataFrame:
    """items x annotators: 1 yes, 0 no, NaN where the annotator did not vote (cleanlab's layout)."""
    return pd.DataFrame([[CODES.get(s.get(a), np.nan) for a in annotators] for s in stances],
                        columns=annotators, dtype=float)


def crowdlab(votes: pd.DataFrame, p_yes: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CROWDLAB on items with at least one vote: per item the consensus label and its quality
    (and the annotators' agreement), per annotator its quality and agreement with the consensus.
    Annotators who voted on none of the items are left out."""
    from cleanlab.multiannotator import get_label_quality_multiannotator

    votes = votes.loc[:, votes.notna().any(axis=0)]
    if votes.shape[1] < 2 or not (votes.notna().sum(axis=1) > 1).any():
        raise UserError("CROWDLAB needs at least two annotators and one pair with two votes")
    result = get_label_quality_multiannotator(votes, pred_probs(p_yes), verbose=False)
    return result["label_quality"], result["annotator_stats"]


def stances_path(run_dir: Path, tables: Path | None) -> Path:
    """The prepared stances table of the run's data: --tables, else beside the data run.json names."""
    if tables is not None:
        return tables / "stances.jsonl"
    run = run_dir / "run.json"
    data = json.loads(run.read_text())["data"] if run.is_file() else None
    if not data:
        raise UserError(f"{run_dir}: no run.json naming its data; give --tables (the prepared folder's tables/)")
    data = Path(data)
    return (data if data.is_dir() else data.parent) / "tables" / "stances.jsonl"


def held_out_pairs(run_dir: Path) -> list[dict]:
    """One row per labelled pair of the run's held-out predictions (test, and dev when present)."""
    dev = run_dir / "dev_predictions.jsonl"
    rows = load_predictions(run_dir / "predictions.jsonl") + (load_predictions(dev) if dev.is_file() else [])
    pairs = [p for p in contributor_pairs(rows) if p["p_yes"] is not None]
    if not pairs:
        raise UserError(f"{run_dir}: no pair has a P(yes) (an API or generate run has none to rank by)")
    return pairs


def review(pairs: list[dict], stances: list[dict]) -> tuple[list[dict], pd.DataFrame | None]:
    """The review rows, worst label first, and the annotators' quality (None without a panel)."""
    by_key = {pair_key(s): s for s in stances}
    missing = [p for p in pairs if pair_key(p) not in by_key]
    if missing:
        raise UserError(f"{len(missing)} predicted pairs are not in the stances table, e.g. {pair_key(missing[0])}; "
                        "is --tables the data this run was scored on?")
    labels = np.array([CODES[p["gold"]] for p in pairs])
    p_yes = np.array([p["p_yes"] for p in pairs])
    quality, flagged = label_issues(labels, p_yes)
    rows = [{**{k: p[k] for k in PAIR_KEYS}, "statement": by_key[pair_key(p)]["statement"], "label": p["gold"],
             "p_yes": round(float(p["p_yes"]), 4), "label_quality": round(float(q), 4), "label_issue": bool(f)}
            for p, q, f in zip(pairs, quality, flagged)]
    annotators = sorted({c for s in stances for c in s if c.startswith(ANNOTATOR_PREFIX)})
    matched = [by_key[pair_key(p)] for p in pairs]
    votes = vote_frame(matched, annotators)
    annotator_stats = None
    voted = votes.notna().any(axis=1).to_numpy()
    if len(annotators) > 1 and voted.any():
        items, annotator_stats = crowdlab(votes[voted].reset_index(drop=True), p_yes[voted])
        for row, stance, item in zip((r for r, v in zip(rows, voted) if v), (s for s, v in zip(matched, voted) if v),
                                     items.itertuples()):
            row["votes"] = " ".join(f"{a.removeprefix(ANNOTATOR_PREFIX)}={stance[a]}" for a in annotators if stance.get(a))
            row["consensus"] = "yes" if item.consensus_label == 1 else "no"
            row["consensus_quality"] = round(float(item.consensus_quality_score), 4)
    rows.sort(key=lambda r: (r.get("consensus_quality", r["label_quality"]), r["label_quality"]))
    return rows, annotator_stats


def write_csv(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", required=True, type=Path, help="the review CSV, worst label first")
    parser.add_argument("--tables", type=Path, help="the prepared folder's tables/ (default: beside the data in run.json)")
    parser.add_argument("--top", type=int, help="write only the first N pairs")
    args = parser.parse_args(argv)
    rows, annotator_stats = review(held_out_pairs(args.run_dir), read_jsonl(stances_path(args.run_dir, args.tables)))
    shown = rows[:args.top] if args.top else rows
    write_csv(args.out, [{"rank": i, **row} for i, row in enumerate(shown, start=1)])
    flagged = sum(r["label_issue"] for r in rows)
    print(f"{len(rows)} labelled pairs ranked, {flagged} flagged by the label-issue finder -> {args.out}")
    if annotator_stats is not None:
        annotator_path = args.out.with_suffix(".annotators.csv")
        annotator_stats.round(4).to_csv(annotator_path, index_label="annotator")
        print(annotator_stats.round(3).to_string())
    return rows


if __name__ == "__main__":
    run_cli(main)
