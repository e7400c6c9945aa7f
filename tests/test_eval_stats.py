"""Statistics on fixed inputs, checked against scikit-learn, scipy or a hand computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, chi2
from sklearn.calibration import calibration_curve
from sklearn.metrics import f1_score, matthews_corrcoef, precision_score, recall_score
from test_eval_demo_runs import annotator_run, demo_tables

from core.labels import INVALID
from core.metrics import confusion_counts, contributor_metrics, from_counts
from eval import stats


def pairs_from(gold, predicted, conversations, p_yes=None):
    p_yes = p_yes if p_yes is not None else [None] * len(gold)
    return [{"conversation_id": c, "statement_id": "s", "contributor": f"P{i}", "gold": g, "prediction": p, "p_yes": q}
            for i, (g, p, c, q) in enumerate(zip(gold, predicted, conversations, p_yes))]


def fixed_labels(n: int, seed: int):
    rng = np.random.default_rng(seed)
    gold = rng.choice(["yes", "no"], n).tolist()
    predicted = rng.choice(["yes", "no", INVALID], n, p=[0.45, 0.45, 0.1]).tolist()
    return gold, predicted


def test_vectorised_metrics_match_scikit_learn():
    for seed in range(5):
        gold, predicted = fixed_labels(60, seed)
        counts = from_counts(confusion_counts(gold, predicted))
        assert counts["f1"] == pytest.approx(f1_score(gold, predicted, labels=["yes"], average="macro"))
        assert counts["precision"] == pytest.approx(precision_score(gold, predicted, labels=["yes"], average="macro", zero_division=0))
        assert counts["recall"] == pytest.approx(recall_score(gold, predicted, labels=["yes"], average="macro"))
        assert counts["mcc"] == pytest.approx(matthews_corrcoef(gold, predicted))
        assert counts["accuracy"] == pytest.approx(contributor_metrics(gold, predicted)["accuracy"])
        assert contributor_metrics(gold, predicted)["mcc"] == pytest.approx(matthews_corrcoef(gold, predicted))
    assert contributor_metrics(["yes", "yes"], ["yes", "yes"])["mcc"] == matthews_corrcoef(["yes", "yes"], ["yes", "yes"]) == 0


def test_mcc_by_hand_and_invalid_is_always_wrong():
    # TP 3, FN 1, FP 1, TN 4: MCC = (3*4 - 1*1) / sqrt(4*4*5*5) = 11 / 20
    gold = ["yes"] * 4 + ["no"] * 5
    predicted = ["yes", "yes", "yes", "no", "yes", "no", "no", "no", "no"]
    assert contributor_metrics(gold, predicted)["mcc"] == pytest.approx(11 / 20)
    turned = predicted[:-1] + [INVALID]  # a right 'no' becomes invalid: accuracy and MCC drop, F1 does not move
    assert contributor_metrics(gold, turned)["accuracy"] == pytest.approx(6 / 9)
    assert contributor_metrics(gold, turned)["mcc"] < 11 / 20
    assert contributor_metrics(gold, turned)["f1"] == contributor_metrics(gold, predicted)["f1"]


def plain_cluster_bootstrap(pairs, resamples, seed):
    """F1 and accuracy counted by hand on conversations drawn with replacement."""
    by_conversation = {}
    for p in pairs:
        by_conversation.setdefault(p["conversation_id"], []).append((p["gold"], p["prediction"]))
    groups = list(by_conversation.values())
    rng = np.random.default_rng(seed)
    values = {"f1": [], "accuracy": []}
    for _ in range(resamples):
        sample = [pair for i in rng.integers(0, len(groups), len(groups)) for pair in groups[i]]
        tp = sum(g == "yes" and p == "yes" for g, p in sample)
        fp = sum(g == "no" and p == "yes" for g, p in sample)
        fn = sum(g == "yes" and p != "yes" for g, p in sample)
        values["f1"].append(2 * tp / (2 * tp + fp + fn))
        values["accuracy"].append(sum(g == p for g, p in sample) / len(sample))
    return {m: np.percentile(v, [2.5, 97.5]) for m, v in values.items()}


def test_bootstrap_by_conversation_matches_a_plain_resampling(demo_dir):
    tables = demo_tables(demo_dir)
    pairs = annotator_run(tables, "annotator_1", seed=0)
    ci = stats.confidence_intervals(pairs, seed=0)
    assert ci == stats.confidence_intervals(pairs, seed=0)  # seeded
    assert ci["f1"]["conversations"] == 16 and ci["f1"]["resamples"] == stats.N_RESAMPLES
    point = contributor_metrics([p["gold"] for p in pairs], [p["prediction"] for p in pairs])
    plain = plain_cluster_bootstrap(pairs, 2000, seed=1)
    for metric, (low, high) in plain.items():
        assert ci[metric]["low"] <= point[metric] <= ci[metric]["high"]
        assert ci[metric]["low"] == pytest.approx(low, abs=0.03) and ci[metric]["high"] == pytest.approx(high, abs=0.03)


def test_resampling_conversations_widens_intervals_for_clustered_errors():
    # Each conversation is all right or all wrong: pairs are not independent.
    conversations = [f"c{i}" for i in range(10) for _ in range(20)]
    gold = ["yes", "no"] * 100
    predicted = [g if int(c[1:]) % 3 else ("no" if g == "yes" else "yes") for g, c in zip(gold, conversations)]
    by_conversation = stats.confidence_intervals(pairs_from(gold, predicted, conversations))["accuracy"]
    by_pair = stats.confidence_intervals(pairs_from(gold, predicted, [f"x{i}" for i in range(200)]))["accuracy"]
    assert by_conversation["high"] - by_conversation["low"] > 2 * (by_pair["high"] - by_pair["low"])


def test_one_conversation_has_no_interval():
    assert stats.confidence_intervals(pairs_from(["yes", "no"], ["yes", "yes"], ["c", "c"]))["f1"] is None


def test_mcnemar_exact_and_chi_square_by_hand():
    gold = ["yes"] * 40
    a = pairs_from(gold, ["yes"] * 30 + ["no"] * 2 + ["yes"] * 8, ["c"] * 40)
    b = pairs_from(gold, ["yes"] * 30 + ["yes"] * 2 + ["no"] * 8, ["c"] * 40)
    result = stats.mcnemar_test(a, b)
    assert result["table"] == [[30, 8], [2, 0]] and result["exact"]
    assert result["p_value"] == pytest.approx(2 * binom.cdf(2, 10, 0.5))  # = 0.109375
    many_a = pairs_from(["yes"] * 60, ["yes"] * 10 + ["no"] * 10 + ["yes"] * 40, ["c"] * 60)
    many_b = pairs_from(["yes"] * 60, ["yes"] * 10 + ["yes"] * 10 + ["no"] * 40, ["c"] * 60)
    result = stats.mcnemar_test(many_a, many_b)
    assert not result["exact"] and result["discordant"] == 50
    assert result["statistic"] == pytest.approx((abs(40 - 10) - 1) ** 2 / 50)
    assert result["p_value"] == pytest.approx(chi2.sf((abs(40 - 10) - 1) ** 2 / 50, 1))


def test_threshold_is_tuned_on_dev_for_best_f1():
    dev = pairs_from(["yes", "yes", "no", "no", "yes"], ["no"] * 5, ["c1", "c1", "c2", "c2", "c3"],
                     p_yes=[0.30, 0.35, 0.10, 0.20, 0.90])
    tuned = stats.tune_threshold(dev, "any-yes")
    assert tuned["value"] == pytest.approx(0.30) and tuned["dev_f1"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="P\\(yes\\)"):
        stats.tune_threshold([{**dev[0], "p_yes": None}], "any-yes")


def test_brier_and_reliability_curve():
    gold = ["yes", "no", "yes", "no", "yes", "no"]
    p_yes = [0.9, 0.25, 0.65, 0.55, 0.15, 0.05]
    result = stats.calibration(pairs_from(gold, ["no"] * 6, ["c"] * 6, p_yes), bins=5)
    y = np.array([g == "yes" for g in gold], dtype=float)
    assert result["brier"] == pytest.approx(np.mean((np.array(p_yes) - y) ** 2))
    prob_true, prob_pred = calibration_curve(y, p_yes, n_bins=5)
    assert result["reliability"]["fraction_yes"] == pytest.approx(prob_true.tolist())
    assert result["reliability"]["mean_predicted"] == pytest.approx(prob_pred.tolist())
    assert result["reliability"]["count"] == [2, 1, 1, 1, 1]  # 0.05 0.15 | 0.25 | 0.55 | 0.65 | 0.9
    assert stats.calibration(pairs_from(["yes"], ["yes"], ["c"])) is None


def test_ranking_matches_scikit_learn_and_resamples_conversations():
    from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

    rng = np.random.default_rng(0)
    gold = rng.choice(["yes", "no"], 120, p=[0.2, 0.8]).tolist()
    p_yes = [min(1.0, q + 0.3 * (g == "yes")) for g, q in zip(gold, rng.random(120))]  # ties none, some signal
    y = [g == "yes" for g in gold]
    result = stats.ranking(pairs_from(gold, ["no"] * 120, [f"c{i // 6}" for i in range(120)], p_yes))
    assert result["roc_auc"] == pytest.approx(roc_auc_score(y, p_yes))
    assert result["average_precision"] == pytest.approx(average_precision_score(y, p_yes))
    ci = result["roc_auc_ci"]
    assert ci["low"] < result["roc_auc"] < ci["high"] and ci["conversations"] == 20
    assert ci["resamples"] + ci["skipped_one_label"] == stats.N_RESAMPLES
    swept = max(f1_score(y, [p >= t for p in p_yes]) for t in p_yes)  # every threshold that changes an answer
    assert result["f1_best_threshold"] == pytest.approx(swept)
    assert result["f1_best_threshold"] >= 2 * np.mean(y) / (1 + np.mean(y))  # never below always-yes
    tied = stats.ranking(pairs_from(["yes", "no", "yes", "no"], ["no"] * 4, ["a", "a", "b", "b"], [0.5] * 4))
    assert tied["roc_auc"] == 0.5  # ties count half: no ranking at all
    assert tied["f1_best_threshold"] == pytest.approx(2 / 3)  # tied: only always-yes or always-no
    assert stats.ranking(pairs_from(["yes", "yes"], ["no"] * 2, ["a", "b"], [0.1, 0.2])) is None  # one label
    assert stats.ranking(pairs_from(["yes", "no"], ["no"] * 2, ["a", "b"])) is None  # no P(yes)
