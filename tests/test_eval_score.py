"""eval.score and eval.compare on prediction files derived from the demo set."""

from __future__ import annotations

import json

import pytest
from sklearn.metrics import f1_score
from test_eval_demo_runs import demo_runs  # noqa: F401  (fixture)

from core.cli import UserError
from core.jsonl import read_jsonl, write_jsonl
from core.labels import INVALID
from eval import compare, score
from prep.votes import majority


def score_run(folder, demo_dir, *extra):
    return score.main(["--predictions", str(folder / "predictions.jsonl"), "--messages", str(demo_dir / "messages.jsonl"),
                       "--stances", str(demo_dir / "stances.jsonl"), *extra])


def test_scored_run_has_metrics_report_and_plots(demo_runs, demo_dir):
    folder = demo_runs["runs"]["annotator_1"]
    metrics = score_run(folder, demo_dir)
    stances = demo_runs["tables"].stances
    gold = [s["label"] for s in stances]
    given = [s["annotator_1"] or INVALID for s in stances]
    assert metrics["schema_version"] == score.SCHEMA_VERSION and metrics["n"] == len(stances)
    assert metrics["f1"] == pytest.approx(f1_score(gold, given, labels=["yes"], average="macro"))
    assert metrics["invalid"] == given.count(INVALID)
    assert metrics["ci"]["f1"]["low"] <= metrics["f1"] <= metrics["ci"]["f1"]["high"]
    assert 0.0 <= metrics["calibration"]["brier"] <= 0.25  # every P(yes) is on the side of its answer
    assert metrics["ranking"]["roc_auc"] > 0.5
    assert json.loads((folder / "metrics.json").read_text()) == metrics
    report = (folder / "report.md").read_text()
    for section in ("## Ranking", "## Calibration", "## Human ceiling", "## By statement", "## By conversation", "## By language",
                    "## By length", "## By position", "![breakdowns](breakdowns.png)", "![reliability](reliability.png)"):
        assert section in report
    for plot in ("breakdowns.png", "reliability.png"):
        assert (folder / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_breakdowns_partition_the_pairs(demo_runs, demo_dir):
    metrics = score_run(demo_runs["runs"]["annotator_1"], demo_dir)
    for kind, rows in metrics["breakdowns"].items():
        assert sum(r["n"] for r in rows) == metrics["n"], kind
        assert sum(r["gold_yes"] for r in rows) == metrics["gold_yes"], kind
    assert {r["group"] for r in metrics["breakdowns"]["position"]} <= {"start", "middle", "end"}
    assert len(metrics["breakdowns"]["conversation"]) == 16


def test_human_ceiling_is_leave_one_out_agreement(demo_runs, demo_dir):
    metrics = score_run(demo_runs["runs"]["annotator_1"], demo_dir)
    ceiling = metrics["human_ceiling"]
    assert set(ceiling["per_annotator"]) == {"annotator_1", "annotator_2", "annotator_3"}
    stances = demo_runs["tables"].stances
    kept = [(majority([s["annotator_2"], s["annotator_3"]]), s["annotator_1"]) for s in stances if s["annotator_1"]]
    decided = [(g, a) for g, a in kept if g is not None]
    expected = f1_score([g for g, _ in decided], [a for _, a in decided], labels=["yes"], average="macro")
    assert ceiling["per_annotator"]["annotator_1"]["f1"] == pytest.approx(expected)
    assert ceiling["per_annotator"]["annotator_1"]["n"] == len(decided)
    mean = sum(a["f1"] for a in ceiling["per_annotator"].values()) / 3
    assert ceiling["mean_f1"] == pytest.approx(mean, abs=1e-4)


def test_language_breakdown_follows_the_contributors_messages(demo_runs, demo_dir):
    from prep.language import detect

    metrics = score_run(demo_runs["runs"]["annotator_1"], demo_dir)
    groups = {r["group"]: r["n"] for r in metrics["breakdowns"]["language"]}
    assert "en" in groups and "zh" in groups  # the demo mixes English and Chinese
    # A contributor who wrote only Chinese is in the zh group.
    messages = demo_runs["tables"].messages
    languages = dict(zip([(m["conversation_id"], m["author"], m["message_id"]) for m in messages],
                         detect([m["text"] for m in messages])))
    only_zh = {(c, a) for (c, a, _) in languages if all(v == "zh" for (c2, a2, _), v in languages.items() if (c2, a2) == (c, a))}
    pairs_zh = sum((s["conversation_id"], s["contributor"]) in only_zh for s in demo_runs["tables"].stances)
    assert groups["zh"] >= pairs_zh > 0


def test_threshold_tuned_on_dev_is_frozen_for_test(demo_runs, tmp_path):
    rows = read_jsonl(demo_runs["runs"]["annotator_2"] / "predictions.jsonl")
    dev = [r for r in rows if r["conversation_id"] <= "demo-08" and r["p_yes"] is not None]
    test = [r for r in rows if r["conversation_id"] > "demo-08" and r["p_yes"] is not None]
    write_jsonl(tmp_path / "dev.jsonl", dev)
    write_jsonl(tmp_path / "run" / "predictions.jsonl", test)
    metrics = score.main(["--predictions", str(tmp_path / "run" / "predictions.jsonl"),
                          "--dev-predictions", str(tmp_path / "dev.jsonl")])
    threshold = metrics["threshold"]["value"]
    assert "tuned on" in metrics["threshold"]["source"] and threshold is not None
    expected = ["yes" if r["p_yes"] >= threshold else "no" for r in test]
    assert metrics["predicted_yes"] == expected.count("yes")
    fixed = score.main(["--predictions", str(tmp_path / "run" / "predictions.jsonl"), "--threshold", "0.99"])
    assert fixed["threshold"] == {"value": 0.99, "source": "fixed"}
    assert fixed["predicted_yes"] == sum(r["p_yes"] >= 0.99 for r in test)


def test_snippet_predictions_are_aggregated(tmp_path):
    rows = [{"conversation_id": "c", "statement_id": "s", "contributor": c, "gold": g, "prediction": p, "p_yes": q,
             "mode": "loglik", "meta": {"message_id": f"m{i}"}}
            for i, (c, g, p, q) in enumerate([("A", "yes", "no", 0.4), ("A", "yes", "yes", 0.7), ("A", "yes", "no", 0.1),
                                              ("B", "no", "no", 0.3), ("B", "no", "no", 0.2)])]
    write_jsonl(tmp_path / "predictions.jsonl", rows)
    any_yes = score.main(["--predictions", str(tmp_path / "predictions.jsonl"), "--aggregation", "any-yes"])
    assert (any_yes["n"], any_yes["questions"], any_yes["f1"]) == (2, 5, 1.0)
    majority_vote = score.main(["--predictions", str(tmp_path / "predictions.jsonl"), "--aggregation", "majority"])
    assert majority_vote["predicted_yes"] == 0 and majority_vote["aggregation"] == "majority"
    assert "aggregation `majority`" in (tmp_path / "report.md").read_text()


def test_compare_two_runs(demo_runs, demo_dir, tmp_path):
    a, b = demo_runs["runs"]["annotator_1"], demo_runs["runs"]["annotator_2"]
    for folder in (a, b):
        score_run(folder, demo_dir)
    result = compare.main([str(a), str(b), "--out", str(tmp_path)])
    stances = demo_runs["tables"].stances
    a_right = [s["annotator_1"] == s["label"] for s in stances]
    b_right = [s["annotator_2"] == s["label"] for s in stances]
    assert result["shared_pairs"] == len(stances)
    assert result["mcnemar"]["table"][0][1] == sum(x and not y for x, y in zip(a_right, b_right))
    assert result["mcnemar"]["table"][1][0] == sum(y and not x for x, y in zip(a_right, b_right))
    f1 = result["deltas"]["f1"]
    assert f1["delta"] == pytest.approx(f1["b"] - f1["a"])
    assert f1["ci"]["low"] <= f1["delta"] <= f1["ci"]["high"]
    text = (tmp_path / "compare.md").read_text()
    assert "McNemar" in text and "| annotator_1 |" in text and "| annotator_2 |" in text
    assert json.loads((tmp_path / "compare.json").read_text())["runs"] == ["annotator_1", "annotator_2"]


def test_compare_needs_scored_runs(tmp_path):
    with pytest.raises(UserError, match="score the run first"):
        compare.scored_pairs(tmp_path)
