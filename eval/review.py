"""A review page per run: one self-contained HTML file a reviewer works through offline.

    python -m eval.review runs/R --tables D/tables --out runs/R/review.html

Statements, then their contributors: the run's answer, P(yes), gold where known, and the top
evidence messages (`eval.evidence`, RUN/evidence.jsonl) highlighted in the conversation, the
rest of the conversation collapsed into runs the reviewer can expand. Disagreements with gold
come first, then the least certain answers; a filter box and sort keys change that. Each
verdict (yes / no) is kept in the browser's localStorage and exported as a stances CSV
(conversation_id, statement_id, statement, contributor, label) that `prep.build --stances`
reads back as labels. No server, no network: data, script and style are inline.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from importlib import resources
from pathlib import Path

from core.cli import UserError, run_cli
from core.jsonl import read_jsonl
from core.runs import PAIR_KEYS, load_predictions, pair_key
from eval.aggregate import contributor_pairs
from eval.evidence import evidence_path, run_threshold

TEMPLATE = "review_page.html"
EVIDENCE_SHOWN = 3  # top evidence messages highlighted per pair


def page_data(run_dir: Path, tables: Path) -> dict:
    """Everything the page shows, as one JSON-able dict."""
    predictions = load_predictions(run_dir / "predictions.jsonl")
    evidence_file = evidence_path(run_dir / "predictions.jsonl")
    evidence = {pair_key(e): e for e in read_jsonl(evidence_file)} if evidence_file.is_file() else {}
    statements = {(s["conversation_id"], s["statement_id"]): s["statement"] for s in read_jsonl(tables / "stances.jsonl")}
    pairs = []
    for pair in contributor_pairs(predictions, "any-yes", run_threshold(run_dir)):
        key = pair_key(pair)
        if key[:2] not in statements:
            raise UserError(f"pair {key}: statement not in {tables / 'stances.jsonl'} (tables of other data?)")
        found = evidence.get(key, {})
        if found and found["answer"] != pair["prediction"]:
            raise UserError(f"pair {key}: {evidence_file} explains the answer {found['answer']!r}, the run gave "
                            f"{pair['prediction']!r}; rebuild the evidence (python -m eval.evidence)")
        pairs.append({**{k: pair[k] for k in PAIR_KEYS}, "statement": statements[key[:2]], "answer": pair["prediction"],
                      "p_yes": pair["p_yes"], "gold": pair["gold"], "evidence": found.get("messages", []),
                      "unread": found.get("unread", []), "source": found.get("source")})
    wanted = {p["conversation_id"] for p in pairs}
    conversations = defaultdict(list)
    for message in read_jsonl(tables / "messages.jsonl"):
        if message["conversation_id"] in wanted:
            conversations[message["conversation_id"]].append(
                {k: message.get(k) for k in ("message_id", "author", "timestamp", "text", "reply_to")})
    return {"run": run_dir.resolve().name, "evidence_shown": EVIDENCE_SHOWN, "has_evidence": bool(evidence),
            "pairs": pairs, "conversations": conversations}


def render(data: dict) -> str:
    template = resources.files("eval").joinpath(TEMPLATE).read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")  # no text can close the script tag
    return template.replace("/*DATA*/null", payload, 1)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="run folder with predictions.jsonl (and evidence.jsonl)")
    parser.add_argument("--tables", required=True, type=Path, help="prep's OUT/tables of the predicted data")
    parser.add_argument("--out", type=Path, help="default: RUN/review.html")
    args = parser.parse_args(argv)
    out = args.out or args.run / "review.html"
    data = page_data(args.run, args.tables)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data), encoding="utf-8")
    print(f"{len(data['pairs'])} pairs, evidence {'included' if data['has_evidence'] else 'missing'} -> {out}")
    return out


if __name__ == "__main__":
    run_cli(main)
