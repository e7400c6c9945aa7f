"""Annotator panels: majority with a tie policy, agreement, human-level F1."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from prep.panel import agreement, human_f1, human_level, main, panel_report, pooled_f1
from prep.tables import ValidationError
from prep.validate import Policy, load_tables
from prep.votes import majority

ANNOTATORS = ["annotator_1", "annotator_2", "annotator_3"]
PREP = Path(__file__).resolve().parent.parent / "prep"


def panel(rows: list[tuple]) -> list[dict]:
    return [dict(zip(ANNOTATORS, row)) for row in rows]


def test_majority_and_tie_policy():
    assert majority(["yes", "no", "yes"]) == "yes"
    assert majority(["yes", "no", None]) is None
    assert majority(["yes", "no"], tie="yes") == "yes" and majority(["yes", "no"], tie="no") == "no"
    assert majority([None, None], tie="yes") is None  # nobody voted: nothing to break


def test_tie_policy_reaches_the_gold_label(tiny_tables):
    """Eve in the fixture: one yes, two no -> no; with an annotator missing the tie follows the policy."""
    tables = load_tables(*tiny_tables)
    assert {s["contributor"]: s["label"] for s in tables.stances}["Eve"] == "no"
    rows = [json.loads(line) for line in tiny_tables[1].read_text().splitlines()]
    rows[4]["annotator_3"] = None  # Eve: annotator_1 no, annotator_2 yes -> a tie
    tiny_tables[1].write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert "Eve" not in {s["contributor"] for s in load_tables(*tiny_tables).stances}
    assert {s["contributor"]: s["label"] for s in load_tables(*tiny_tables, Policy(annotator_tie="yes")).stances}["Eve"] == "yes"
    with pytest.raises(ValidationError, match="no strict annotator majority"):
        load_tables(*tiny_tables, Policy(annotator_tie="error"))


def test_agreement_matches_the_textbook_formulas():
    votes = panel([("yes", "yes", "yes"), ("no", "no", "no"), ("yes", "no", "yes"), ("no", "no", "yes"), ("yes", "yes", "no")])
    result = agreement(votes, ANNOTATORS)
    # Fleiss: mean pairwise agreement P against chance from the pooled category shares
    yes = np.array([3, 0, 2, 1, 2])
    p_items = (yes * (yes - 1) + (3 - yes) * (2 - yes)) / (3 * 2)
    share = yes.sum() / 15
    chance = share ** 2 + (1 - share) ** 2
    assert result["fleiss_kappa"] == pytest.approx((p_items.mean() - chance) / (1 - chance), abs=1e-4)
    assert result["items_complete"] == 5 and result["unanimous"] == 2
    assert -1 <= result["krippendorff_alpha"] <= 1


def test_perfect_panel_agrees_fully():
    votes = panel([("yes",) * 3, ("no",) * 3, ("yes",) * 3, ("no",) * 3])
    result = agreement(votes, ANNOTATORS)
    assert result["fleiss_kappa"] == pytest.approx(1.0) and result["krippendorff_alpha"] == pytest.approx(1.0)
    assert human_f1(votes, ANNOTATORS)["mean_f1"] == pytest.approx(1.0)


def test_human_f1_scores_each_annotator_against_the_others():
    """annotator_3 says the opposite of the other two every time: F1 0 for them; the others each
    face a tie (one agreeing, one opposite) and, under 'exclude', are scored on no item."""
    votes = panel([("yes", "yes", "no"), ("no", "no", "yes"), ("yes", "yes", "no"), ("no", "no", "yes")])
    result = human_f1(votes, ANNOTATORS)
    assert result["per_annotator"]["annotator_3"]["f1"] == 0.0
    assert set(result["per_annotator"]) == {"annotator_3"}
    lenient = human_f1(votes, ANNOTATORS, tie="yes")  # every tie of the others counts as yes
    scores = lenient["per_annotator"]["annotator_1"]
    assert (scores["n"], scores["precision"], scores["recall"]) == (4, 1.0, 0.5)


def test_pooled_f1_scores_every_vote_against_the_other_votes_on_its_item():
    """A crowd: columns are not people. 9 votes have a majority of the others: 3 agree on yes,
    3 on no, one lone yes against three no, and a yes/no pair that each face the other."""
    crowd = [{"a1": "yes", "a2": "yes", "a3": "yes"}, {"a4": "no", "a5": "no", "a6": "yes", "a7": "no"},
             {"a1": "yes", "a2": "no"}]
    columns = [f"a{i}" for i in range(1, 8)]
    pooled = pooled_f1(crowd, columns)
    assert pooled["votes"] == 9
    assert (pooled["precision"], pooled["recall"]) == pytest.approx((3 / 5, 3 / 4))
    tied = pooled_f1([{"a1": "yes", "a2": "no", "a3": "yes"}], ["a1", "a2", "a3"])  # a1 and a3 face a tie: skipped
    assert tied["votes"] == 1 and tied["recall"] == 0.0
    level = human_level(crowd, columns)
    assert level["estimator"] == "pooled" and level["f1"] == pooled["f1"]
    assert level["per_annotator"]["mean_f1"] != pooled["f1"]


def test_a_fixed_panel_keeps_the_per_annotator_estimator():
    votes = panel([("yes", "yes", "no"), ("no", "no", "no"), ("yes", "yes", "yes"), ("no", "yes", "no")])
    level = human_level(votes, ANNOTATORS)
    assert level["estimator"] == "per-annotator" and level["f1"] == human_f1(votes, ANNOTATORS)["mean_f1"]
    assert panel_report(votes, ANNOTATORS)["human_level"]["estimator"] == "per-annotator"


def test_no_panel_without_two_annotators():
    assert panel_report(panel([("yes", None, None)]), ["annotator_1"]) is None


def test_demo_panel(demo_dir):
    if not (demo_dir / "stances.jsonl").exists():
        pytest.skip("demo set not generated")
    report = main(["--messages", str(demo_dir / "messages.jsonl"), "--stances", str(demo_dir / "stances.jsonl")])
    tables = load_tables(demo_dir / "messages.jsonl", demo_dir / "stances.jsonl", Policy(annotator_tie="yes"))
    assert report["items"] == len(tables.stances) and report["annotators"] == 3
    assert 0 < report["fleiss_kappa"] <= 1 and 0 < report["human"]["mean_f1"] <= 1


def test_prep_stands_below_eval():
    """Panels score annotators with the metrics eval uses; they live in prep, so no prep module
    imports eval."""
    offenders = []
    for path in sorted(PREP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "eval"]
    assert offenders == []
