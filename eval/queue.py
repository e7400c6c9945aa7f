"""Which unlabelled pairs the panel should label next: a ranked CSV that an annotator opens.

    python -m eval.queue runs/A/to_label [runs/B/to_label ...] --out queue.csv --k 200

Each RUN_DIR holds a run's predictions on the prepared `to_label.jsonl` (pairs with no label
yet, `gold` null), e.g. `python -m eval.predict ... --data D/to_label.jsonl --out
runs/A/to_label/predictions.jsonl`. A pair's P(yes) is its highest snippet P(yes)
(`eval.aggregate`). Its score is what a label would teach:

    uncertainty    of the mean P(yes) over the runs: entropy in bits (default) or 1 - margin,
                   both 1 at P(yes) = 0.5 and 0 at 0 or 1
    disagreement   between the runs: entropy of the mean minus the mean entropy (the mutual
                   information, 0 with one run or when the runs agree)
    score          uncertainty + disagreement

Pairs are taken best score first, skipping a pair whose conversation already has
--per-conversation picks or whose contributor (in that conversation) already has
--per-contributor; if that leaves fewer than k, the best skipped pairs fill the rest (counted).
So no thread fills the queue, and one contributor's two sides of a topic are not both asked.

The CSV: rank, the pair (conversation, statement id and text, contributor; `contributor_name`
when the pseudonym map beside the prepared data is readable), P(yes) of each run, the scores,
the top evidence messages when a run gives them (`evidence.jsonl` beside its predictions:
rows with the pair keys and `messages` [{message_id, score, text?}], or a prediction row's
`message_scores` [{message_id, score}]), and an empty `vote` column. The annotator writes
yes / no in `vote`; `python -m prep.add_votes` puts the filled copy into the stances table as
that annotator's votes.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from eval.aggregate import contributor_pairs
from core.jsonl import read_jsonl
from core.runs import PAIR_KEYS, pair_key
from prep.anonymise import private_dir
from core.cli import UserError, run_cli

UNCERTAINTIES = ("entropy", "margin")
EVIDENCE_CHARS = 400  # of each evidence message shown in the CSV


def entropy(p: np.ndarray) -> np.ndarray:
    """Binary entropy in bits; 0 at P = 0 or 1."""
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def scores(p_yes: np.ndarray, uncertainty: str = "entropy") -> dict[str, np.ndarray]:
    """p_yes: (runs, pairs). Uncertainty of the mean, disagreement between runs, and their sum."""
    p_yes = np.atleast_2d(np.asarray(p_yes, dtype=float))
    mean = p_yes.mean(axis=0)
    if uncertainty == "entropy":
        uncertain = entropy(mean)
    elif uncertainty == "margin":
        uncertain = 1 - np.abs(2 * mean - 1)
    else:
        raise ValueError(f"uncertainty must be one of {UNCERTAINTIES}, not {uncertainty!r}")
    disagreement = np.clip(entropy(mean) - entropy(p_yes).mean(axis=0), 0, None)
    return {"p_yes_mean": mean, "uncertainty": uncertain, "disagreement": disagreement,
            "score": uncertain + disagreement}


def default_per_conversation(k: int, conversations: int) -> int:
    """At most twice a conversation's even share of the k picks, and at least 2."""
    return max(2, math.ceil(2 * k / max(conversations, 1)))


def select(pairs: list[dict], score: np.ndarray, k: int, per_conversation: int | None = None,
           per_contributor: int = 1) -> tuple[list[int], int]:
    """Indices of the k pairs to label, best score first under the spread caps (ties: input
    order), and how many of them had to be taken over a cap to reach k."""
    order = sorted(range(len(pairs)), key=lambda i: -score[i])
    if per_conversation is None:
        per_conversation = default_per_conversation(k, len({p["conversation_id"] for p in pairs}))
    by_conversation, by_contributor = Counter(), Counter()
    chosen, skipped = [], []
    for i in order:
        if len(chosen) == k:
            break
        conversation, contributor = pairs[i]["conversation_id"], (pairs[i]["conversation_id"], pairs[i]["contributor"])
        if by_conversation[conversation] >= per_conversation or by_contributor[contributor] >= per_contributor:
            skipped.append(i)
            continue
        chosen.append(i)
        by_conversation[conversation] += 1
        by_contributor[contributor] += 1
    filled = skipped[:k - len(chosen)]
    return chosen + filled, len(filled)


def run_pairs(run_dir: Path) -> tuple[dict[tuple, dict], int]:
    """The run's unlabelled pairs (gold null) with P(yes), and how many labelled pairs it also scored."""
    path = run_dir / "predictions.jsonl"
    rows = read_jsonl(path)
    unlabelled = [r for r in rows if r.get("gold") is None]
    for number, row in enumerate(rows, start=1):
        missing = [f for f in (*PAIR_KEYS, "p_yes") if row.get(f) is None and row.get("gold") is None]
        if missing:
            raise UserError(f"{path}: row {number}, field '{missing[0]}': missing (the queue ranks by P(yes))")
    if not unlabelled:
        raise UserError(f"{path}: no unlabelled pairs (gold null); score the prepared to_label.jsonl into this folder")
    pairs = {pair_key(p): p for p in contributor_pairs([{"prediction": "no", **r} for r in unlabelled])}
    for row in unlabelled:  # a snippet row's message scores, merged per pair
        pairs[pair_key(row)].setdefault("message_scores", []).extend(row.get("message_scores") or [])
    return pairs, len({pair_key(r) for r in rows}) - len(pairs)


def evidence(run_dirs: list[Path], pairs: dict[tuple, list[dict]], top: int) -> dict[tuple, list[dict]]:
    """Per pair the `top` highest-scored messages of the first run that gives any."""
    found = {}
    for index, run_dir in enumerate(run_dirs):
        path = run_dir / "evidence.jsonl"
        given = {pair_key(r): r.get("messages") or [] for r in read_jsonl(path)} if path.is_file() else {}
        for key, per_run in pairs.items():
            messages = given.get(key) or per_run[index].get("message_scores") or []
            if key not in found and messages:
                found[key] = sorted(messages, key=lambda m: -m["score"])[:top]
    return found


def prepared_dir(run_dir: Path, prepared: Path | None) -> Path | None:
    """--prepared, else the folder of the data that the run's run.json names (None if neither)."""
    if prepared is not None:
        return prepared
    run = run_dir / "run.json"
    data = json.loads(run.read_text()).get("data") if run.is_file() else None
    return (Path(data) if Path(data).is_dir() else Path(data).parent) if data else None


def real_names(prepared: Path) -> dict[tuple[str, str], str]:
    """(conversation_id, pseudonym) -> author name, from the pseudonym map prep kept apart."""
    path = private_dir(prepared) / "pseudonyms.json"
    if not path.is_file():
        return {}
    names = json.loads(path.read_text(encoding="utf-8"))
    return {(conversation, pseudonym): name for conversation, mapping in names.items() for name, pseudonym in mapping.items()}


def queue(run_dirs: list[Path], k: int, uncertainty: str = "entropy", per_conversation: int | None = None,
          per_contributor: int = 1, prepared: Path | None = None, evidence_messages: int = 3) -> tuple[list[dict], dict]:
    """The queue rows (best first) and its counts."""
    runs = [run_pairs(d) for d in run_dirs]
    keys = [key for key in runs[0][0] if all(key in r[0] for r in runs)]
    if not keys:
        raise UserError("no unlabelled pair is scored by every run")
    pairs = {key: [r[0][key] for r in runs] for key in keys}
    computed = scores(np.array([[p["p_yes"] for p in pairs[key]] for key in keys]).T, uncertainty)
    chosen, over_cap = select([dict(zip(PAIR_KEYS, key)) for key in keys], computed["score"], k,
                              per_conversation, per_contributor)
    prepared = prepared_dir(run_dirs[0], prepared)
    tables = prepared / "tables" if prepared else None
    statements = {(s["conversation_id"], s["statement_id"]): s["statement"]
                  for s in read_jsonl(tables / "stances.jsonl")} if tables and tables.is_dir() else {}
    texts = {(m["conversation_id"], m["message_id"]): m["text"]
             for m in read_jsonl(tables / "messages.jsonl")} if tables and tables.is_dir() else {}
    names = real_names(prepared) if prepared else {}
    top = evidence(run_dirs, pairs, evidence_messages)
    rows = []
    for rank, i in enumerate(chosen, start=1):
        key = keys[i]
        conversation_id, statement_id, contributor = key
        row = {"rank": rank, "conversation_id": conversation_id, "statement_id": statement_id,
               "statement": statements.get(key[:2], ""), "contributor": contributor,
               "contributor_name": names.get((conversation_id, contributor), ""),
               **{f"p_yes_{d.name if d.name != 'to_label' else d.parent.name}": round(p["p_yes"], 4)
                  for d, p in zip(run_dirs, pairs[key])},
               **{name: round(float(values[i]), 4) for name, values in computed.items()}}
        for n in range(evidence_messages):
            message = top.get(key, [])[n] if n < len(top.get(key, [])) else None
            text = message and (message.get("text") or texts.get((conversation_id, message["message_id"]), ""))
            row[f"evidence_{n + 1}"] = f"[{message['message_id']}, {message['score']:.2f}] {text[:EVIDENCE_CHARS]}" if message else ""
        rows.append({**row, "vote": ""})
    counts = {"unlabelled_pairs": len(keys), "queued": len(rows), "taken_over_a_cap": over_cap,
              "conversations": len({r["conversation_id"] for r in rows}),
              "not_scored_by_every_run": sum(len(r[0]) for r in runs) - len(keys) * len(runs),
              "labelled_pairs_ignored": [r[1] for r in runs], "with_evidence": sum(1 for i in chosen if keys[i] in top)}
    return rows, counts


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]) if rows else ["rank"])
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, help="folders with predictions.jsonl on the to_label pairs")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--k", type=int, default=200, help="pairs to queue")
    parser.add_argument("--uncertainty", choices=UNCERTAINTIES, default="entropy")
    parser.add_argument("--per-conversation", type=int, help="picks per conversation before others go first "
                        "(default: twice the even share of k, at least 2)")
    parser.add_argument("--per-contributor", type=int, default=1, help="picks per contributor of a conversation")
    parser.add_argument("--prepared", type=Path, help="the prepared folder (statement texts, messages, pseudonym "
                        "map); default: the data named in the first run's run.json")
    parser.add_argument("--evidence", type=int, default=3, help="evidence messages per pair, when a run gives them")
    args = parser.parse_args(argv)
    if args.k < 1:
        raise UserError(f"--k must be at least 1, not {args.k}")
    rows, counts = queue(args.run_dirs, args.k, args.uncertainty, args.per_conversation, args.per_contributor,
                         args.prepared, args.evidence)
    write_csv(args.out, rows)
    print(f"{counts['queued']} of {counts['unlabelled_pairs']} unlabelled pairs queued from "
          f"{counts['conversations']} conversations ({counts['taken_over_a_cap']} over a spread cap, "
          f"{counts['with_evidence']} with evidence) -> {args.out}")
    return rows


if __name__ == "__main__":
    run_cli(main)
