"""Fixed prediction files derived from the demo set, shared by the eval tests.

A "run" answers each demo pair with one annotator's vote (a missing vote is '[invalid]')
and a seeded P(yes) on the side of that vote. Meta carries what prep writes (context_id,
and n_tokens, here a quarter of the conversation's characters).
"""

from __future__ import annotations

from pathlib import Path
from random import Random

import pytest

from core.jsonl import write_jsonl
from core.labels import INVALID
from core.runs import PREDICTIONS_SCHEMA_VERSION
from prep.validate import load_tables


def demo_tables(demo_dir: Path):
    return load_tables(demo_dir / "messages.jsonl", demo_dir / "stances.jsonl")


def annotator_run(tables, annotator: str, seed: int) -> list[dict]:
    rng = Random(seed)
    chars = {}
    for m in tables.messages:
        chars[m["conversation_id"]] = chars.get(m["conversation_id"], 0) + len(m["text"])
    rows = []
    for s in tables.stances:
        vote = s[annotator] or INVALID
        p_yes = None if vote == INVALID else (0.5 + rng.random() / 2 if vote == "yes" else rng.random() / 2)
        meta = {"conversation_id": s["conversation_id"], "statement_id": s["statement_id"],
                "contributor": s["contributor"], "label": s["label"], "context_id": f"{s['conversation_id']}/full",
                "n_tokens": chars[s["conversation_id"]] // 4}
        rows.append({"schema_version": PREDICTIONS_SCHEMA_VERSION, "conversation_id": s["conversation_id"],
                     "statement_id": s["statement_id"], "contributor": s["contributor"], "gold": s["label"],
                     "context_id": meta["context_id"], "prediction": vote, "p_yes": p_yes, "raw": None,
                     "mode": "loglik", "meta": meta})
    return rows


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory, demo_dir):
    """Two runs folders (annotator_1, annotator_2) with predictions.jsonl, and the tables."""
    tables = demo_tables(demo_dir)
    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for seed, annotator in enumerate(("annotator_1", "annotator_2")):
        folder = root / annotator
        write_jsonl(folder / "predictions.jsonl", annotator_run(tables, annotator, seed))
        runs[annotator] = folder
    return {"tables": tables, "runs": runs, "root": root}


def test_demo_runs_cover_every_demo_pair(demo_runs):
    from core.runs import load_predictions

    tables = demo_runs["tables"]
    assert len(tables.annotators) == 3 and len({s["conversation_id"] for s in tables.stances}) == 16
    for folder in demo_runs["runs"].values():
        rows = load_predictions(folder / "predictions.jsonl")
        assert len(rows) == len(tables.stances)
        assert all(r["p_yes"] is None or (r["p_yes"] >= 0.5) == (r["prediction"] == "yes") for r in rows)
