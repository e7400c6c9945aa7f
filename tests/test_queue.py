"""eval.queue: the ranking by hand, the spread rule, and the round trip of a filled queue into prep as votes."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from eval import queue
from prep import add_votes
from core.cli import UserError
from prep.validate import load_tables
from tests.conftest import write_jsonl


def test_scores_by_hand():
    # one run: entropy of P(yes) in bits; H(0.5) = 1, H(0.1) = H(0.9) = 0.469
    one = queue.scores(np.array([[0.5, 0.9, 0.1, 0.6]]))
    assert np.allclose(one["uncertainty"], [1.0, 0.469, 0.469, 0.971], atol=1e-3)
    assert np.allclose(one["disagreement"], 0)
    assert list(np.argsort(-one["score"])[:2]) == [0, 3]
    margin = queue.scores(np.array([[0.5, 0.9, 0.25]]), "margin")
    assert np.allclose(margin["uncertainty"], [1.0, 0.2, 0.5])
    # two runs, both pairs at mean 0.5: the runs that disagree (0.1 vs 0.9) add 1 - 0.469
    two = queue.scores(np.array([[0.1, 0.5], [0.9, 0.5]]))
    assert np.allclose(two["p_yes_mean"], [0.5, 0.5])
    assert np.allclose(two["disagreement"], [0.531, 0.0], atol=1e-3)
    assert two["score"][0] > two["score"][1]


def pairs_of(spec: list[tuple[str, str, str]]) -> list[dict]:
    return [{"conversation_id": c, "statement_id": s, "contributor": p} for c, s, p in spec]


def test_spread_caps_conversations_and_contributors():
    # conversation A holds the six most uncertain pairs; P01 of A is asked on both statements
    spec = [("A", "s1", "P01"), ("A", "s2", "P01"), ("A", "s1", "P02"), ("A", "s1", "P03"), ("A", "s1", "P04"),
            ("A", "s1", "P05"), ("B", "s1", "P01"), ("C", "s1", "P01"), ("C", "s1", "P02")]
    score = np.array([0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.5, 0.4, 0.3])
    chosen, over = queue.select(pairs_of(spec), score, k=5, per_conversation=2)
    assert chosen == [0, 2, 6, 7, 8] and over == 0  # A's P01 once, A capped at 2, then B and C
    unspread, _ = queue.select(pairs_of(spec), score, k=5, per_conversation=9, per_contributor=9)
    assert unspread == [0, 1, 2, 3, 4]


def test_spread_fills_from_skipped_when_caps_leave_too_few():
    spec = [("A", "s1", f"P0{i}") for i in range(6)]
    chosen, over = queue.select(pairs_of(spec), np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]), k=4, per_conversation=2)
    assert chosen == [0, 1, 2, 3] and over == 2
    assert queue.default_per_conversation(200, 165) == 3 and queue.default_per_conversation(10, 100) == 2


@pytest.fixture
def labelling_round(tmp_path, demo_dir):
    """The demo with the votes of demo-01 removed (its pairs unlabelled), a prepared folder with
    tables and pseudonym map, and one run's predictions on the unlabelled pairs."""
    stances = [json.loads(line) for line in (demo_dir / "stances.jsonl").read_text().splitlines()]
    unlabelled = [s for s in stances if s["conversation_id"] == "demo-01"]
    for stance in unlabelled:
        for column in [c for c in stance if c.startswith("annotator_")]:
            stance[column] = None
    stances_path = write_jsonl(tmp_path / "stances.jsonl", stances)
    prepared = tmp_path / "prepared"
    (prepared / "tables").mkdir(parents=True)
    names = sorted({s["contributor"] for s in unlabelled})
    pseudonyms = {name: f"P{i:02d}" for i, name in enumerate(names, start=1)}
    (tmp_path / "prepared.private").mkdir()
    (tmp_path / "prepared.private" / "pseudonyms.json").write_text(json.dumps({"demo-01": pseudonyms}))
    write_jsonl(prepared / "tables" / "stances.jsonl",
                [{**s, "contributor": pseudonyms[s["contributor"]]} for s in unlabelled])
    write_jsonl(prepared / "tables" / "messages.jsonl",
                [{"conversation_id": "demo-01", "message_id": "m7", "text": "P01 says national service is fair"}])
    run = tmp_path / "runs" / "zero-shot" / "to_label"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"data": str(prepared / "to_label.jsonl")}))
    rng = np.random.default_rng(0)
    predictions = [{"conversation_id": "demo-01", "statement_id": s["statement_id"],
                    "contributor": pseudonyms[s["contributor"]], "gold": None, "prediction": "no",
                    "p_yes": float(rng.uniform())} for s in unlabelled]
    predictions[0]["message_scores"] = [{"message_id": "m7", "score": 0.8}, {"message_id": "m9", "score": 0.1}]
    write_jsonl(run / "predictions.jsonl", predictions)
    return stances_path, run, predictions, pseudonyms


def test_queue_csv_and_round_trip_as_votes(tmp_path, labelling_round, demo_dir):
    stances_path, run, predictions, pseudonyms = labelling_round
    out = tmp_path / "queue.csv"
    queue.main([str(run), "--out", str(out), "--k", "4", "--per-conversation", "4"])
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 4 and [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    score = [float(r["score"]) for r in rows]
    assert score == sorted(score, reverse=True)
    most_uncertain = min(predictions, key=lambda q: abs(q["p_yes"] - 0.5))
    assert (rows[0]["statement_id"], rows[0]["contributor"]) == (most_uncertain["statement_id"], most_uncertain["contributor"])
    assert float(rows[0]["p_yes_zero-shot"]) == round(most_uncertain["p_yes"], 4)
    names = {v: k for k, v in pseudonyms.items()}
    assert all(r["contributor_name"] == names[r["contributor"]] and r["statement"] and r["vote"] == "" for r in rows)
    first = predictions[0]
    queued_first = [r for r in rows if (r["statement_id"], r["contributor"]) == (first["statement_id"], first["contributor"])]
    if queued_first:  # its evidence message text comes from the prepared messages table
        assert queued_first[0]["evidence_1"].startswith("[m7, 0.80] P01 says") and queued_first[0]["evidence_2"].startswith("[m9")
    # the annotator fills two votes and leaves the rest blank
    rows[0]["vote"], rows[1]["vote"] = "yes", "No"
    filled = tmp_path / "queue_alice.csv"
    with filled.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    merged = tmp_path / "stances_voted.jsonl"
    add_votes.main(["--stances", str(stances_path), "--filled", str(filled), "--annotator", "alice", "--out", str(merged)])
    tables = load_tables(demo_dir / "messages.jsonl", merged)
    labelled = {(s["conversation_id"], s["statement_id"], s["contributor"]): s for s in tables.stances}
    for row, vote in ((rows[0], "yes"), (rows[1], "no")):
        stance = labelled[("demo-01", row["statement_id"], row["contributor_name"])]
        assert stance["label"] == vote and stance["annotator_alice"] == vote
    assert "annotator_alice" in tables.annotators


def test_bad_votes_and_runs_are_named(tmp_path, labelling_round):
    stances_path, run, _, _ = labelling_round
    filled = tmp_path / "filled.csv"
    filled.write_text("conversation_id,statement_id,contributor,vote\ndemo-01,ns-3,Nobody,yes\n", encoding="utf-8")
    with pytest.raises(UserError, match="not in the stances table"):
        add_votes.main(["--stances", str(stances_path), "--filled", str(filled), "--annotator", "a", "--out", str(tmp_path / "o.csv")])
    filled.write_text("conversation_id,statement_id,contributor,vote\ndemo-01,ns-3,Nobody,maybe\n", encoding="utf-8")
    with pytest.raises(UserError, match="row 1, field 'vote'"):
        add_votes.main(["--stances", str(stances_path), "--filled", str(filled), "--annotator", "a", "--out", str(tmp_path / "o.csv")])
    labelled_only = tmp_path / "labelled"
    labelled_only.mkdir()
    write_jsonl(labelled_only / "predictions.jsonl", [{"conversation_id": "c", "statement_id": "s", "contributor": "P01",
                                                       "gold": "yes", "prediction": "yes", "p_yes": 0.9}])
    with pytest.raises(UserError, match="no unlabelled pairs"):
        queue.main([str(labelled_only), "--out", str(tmp_path / "q.csv")])


def test_prep_keeps_unjudged_pairs_apart_as_to_label(tmp_path, labelling_round, demo_dir, model_dir):
    from prep import build

    stances_path, *_ = labelling_round
    out = tmp_path / "prepared-demo"
    report = build.main(["--messages", str(demo_dir / "messages.jsonl"), "--stances", str(stances_path),
                         "--tokenizer", str(model_dir), "--strategy", "focus", "--sequence-len", "512",
                         "--over-budget", "exclude", "--out", str(out), "--workers", "1"])
    to_label = [json.loads(line) for line in (out / "to_label.jsonl").read_text().splitlines()]
    unjudged = [s for s in map(json.loads, stances_path.read_text().splitlines()) if s["conversation_id"] == "demo-01"]
    assert len(to_label) == report["to_label"]["pairs"] == len(unjudged) - report["exclusions"]["counts"].get("over_budget", 0)
    assert all(r["meta"]["label"] is None and [m["role"] for m in r["messages"]] == ["user"] for r in to_label)
    for split in ("train", "dev", "test"):
        rows = (out / f"{split}.jsonl").read_text().splitlines()
        assert all(json.loads(r)["meta"]["conversation_id"] != "demo-01" for r in rows)
    markdown = (out / "prep_report.md").read_text()
    assert "To label: " in markdown and "| annotator_1 | " in markdown  # the panel section: annotator quality
    judged = report["input"]["stances"] - len(unjudged)
    assert report["panel"]["items"] == judged  # agreement is over the judged pairs only
