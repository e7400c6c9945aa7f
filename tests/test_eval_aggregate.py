"""Snippet-level answers -> contributor decisions: any-yes, majority, max-prob."""

import pytest

from core.labels import INVALID
from eval.aggregate import contributor_pairs


def snippets(answers, p_yes=None, gold="yes"):
    p_yes = p_yes or [None] * len(answers)
    return [{"conversation_id": "c", "statement_id": "s", "contributor": "A", "gold": gold, "prediction": a,
             "p_yes": p, "meta": {"message_id": f"m{i}"}} for i, (a, p) in enumerate(zip(answers, p_yes))]


@pytest.mark.parametrize("answers, any_yes, majority", [
    (["yes"], "yes", "yes"),
    (["no"], "no", "no"),
    ([INVALID], INVALID, INVALID),
    (["no", "no", "yes"], "yes", "no"),
    (["yes", "yes", "no"], "yes", "yes"),
    (["yes", "no"], "yes", "no"),  # a tie is not a majority
    (["no", INVALID], INVALID, "no"),  # the invalid snippet cannot make 1 of 2 a majority
    (["no", "no", INVALID], INVALID, "no"),
    (["yes", INVALID, "no"], "yes", INVALID),  # the invalid one could be the deciding yes
    (["yes", "yes", INVALID], "yes", "yes"),
])
def test_any_yes_and_majority(answers, any_yes, majority):
    assert contributor_pairs(snippets(answers), "any-yes")[0]["prediction"] == any_yes
    assert contributor_pairs(snippets(answers), "majority")[0]["prediction"] == majority


def test_max_prob_thresholds_the_highest_snippet():
    rows = snippets(["no", "no", "no"], [0.2, 0.45, 0.1])
    pair = contributor_pairs(rows, "max-prob", 0.4)[0]
    assert pair["prediction"] == "yes" and pair["p_yes"] == 0.45 and pair["snippets"] == 3
    assert contributor_pairs(rows, "max-prob", 0.5)[0]["prediction"] == "no"
    # A threshold re-decides every snippet from its P(yes): any-yes then agrees with max-prob.
    assert contributor_pairs(rows, "any-yes", 0.4)[0]["prediction"] == "yes"
    assert contributor_pairs(rows, "majority", 0.15)[0]["prediction"] == "yes"  # 2 of 3 reach 0.15


def test_max_prob_needs_probabilities():
    with pytest.raises(ValueError, match="P\\(yes\\)"):
        contributor_pairs(snippets(["yes", "no"]), "max-prob", 0.5)


def test_conflicting_gold_is_an_error():
    rows = snippets(["yes"]) + snippets(["no"], gold="no")
    with pytest.raises(ValueError, match="conflicting gold"):
        contributor_pairs(rows)


def test_pairs_are_kept_apart():
    rows = snippets(["yes", "no"]) + [{**r, "contributor": "B"} for r in snippets(["no"])]
    pairs = contributor_pairs(rows)
    assert [(p["contributor"], p["prediction"], p["snippets"]) for p in pairs] == [("A", "yes", 2), ("B", "no", 1)]


def test_unparsed_text_counts_as_invalid():
    assert contributor_pairs(snippets(["maybe"]))[0]["prediction"] == INVALID
    assert contributor_pairs(snippets(["maybe", "yes"]))[0]["prediction"] == "yes"
