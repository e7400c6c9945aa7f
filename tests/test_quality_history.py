"""bench.quality's contributor-history floor: a person's record on a statement, found across
conversations through prep's private pseudonym map (pseudonyms are per conversation)."""

from __future__ import annotations

import json

import pytest

from bench import quality
from core.jsonl import read_jsonl, write_jsonl


def pair(conversation: str, contributor: str, label: str, statement: str = "s1") -> dict:
    meta = {"conversation_id": conversation, "statement_id": statement, "contributor": contributor, "label": label,
            "context_id": f"{conversation}/{contributor}/{statement}"}
    return {"messages": [], "meta": meta}


@pytest.fixture
def data(tmp_path):
    """Ana says yes in both train conversations (P01 in c1, P02 in c2), Bo no, Cy yes; test asks Ana
    and Bo again in c3 under other pseudonyms, and Dee, whom train never saw."""
    write_jsonl(tmp_path / "train.jsonl", [pair("c1", "P01", "yes"), pair("c1", "P02", "no"),
                                           pair("c2", "P02", "yes"), pair("c2", "P01", "yes")])
    write_jsonl(tmp_path / "dev.jsonl", [pair("c4", "P01", "yes"), pair("c4", "P02", "no")])
    write_jsonl(tmp_path / "test.jsonl", [pair("c3", "P01", "no"), pair("c3", "P02", "yes"), pair("c3", "P03", "no")])
    names = {"c1": {"Ana": "P01", "Bo": "P02"}, "c2": {"Ana": "P02", "Cy": "P01"},
             "c3": {"Bo": "P01", "Ana": "P02", "Dee": "P03"}, "c4": {"Ana": "P01", "Bo": "P02"}}
    (tmp_path / "pseudonyms.json").write_text(json.dumps(names))
    return tmp_path


def test_the_history_row_answers_from_the_persons_own_train_labels(data):
    run_dir = data / "run"
    run_dir.mkdir()
    quality.run_prior(data, run_dir, data / "pseudonyms.json")
    rate = 3 / 4  # the statement's train yes-rate
    p_yes = {row["contributor"]: row["p_yes"] for row in read_jsonl(run_dir / "predictions.jsonl")}
    assert p_yes == {"P01": pytest.approx((0 + rate) / 2),  # Bo: one "no" in c1, shrunk by one pseudo-pair
                     "P02": pytest.approx((2 + rate) / 3),  # Ana: "yes" as P01 in c1 and as P02 in c2
                     "P03": pytest.approx(rate)}  # Dee: never in train, the statement's rate
    assert json.loads((run_dir / "run.json").read_text())["history"] == {"dev": {"pairs": 2, "seen_before": 2},
                                                                         "test": {"pairs": 3, "seen_before": 2}}
    quality.run_prior(data, run_dir)  # without the map: the statement prior, the same for everyone
    assert {row["p_yes"] for row in read_jsonl(run_dir / "predictions.jsonl")} == {rate}


def test_newcomers_are_the_test_pairs_whose_person_train_never_labelled(data):
    assert quality.newcomer_pairs(data, data / "pseudonyms.json") == {("c3", "s1", "P03")}
    write_jsonl(data / "test.jsonl", [pair("c3", "P03", "no")])
    assert quality.newcomer_pairs(data, data / "pseudonyms.json") is None  # every pair: no subset to show
    with pytest.raises(quality.UserError, match="missing; a contributor's record is found through prep's private"):
        quality.newcomer_pairs(data, data / "elsewhere.json")
