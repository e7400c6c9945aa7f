"""Labelling rounds, simulated on a real panel's labels: which pairs to label next, which labels are wrong.

    python -m bench.labelling            # writes bench/results/labelling.{md,json,png} (committed)
    python -m bench.labelling --quick    # a few conversations, small windows (what the tests run)

On IAC's development topics (`../shared/data/iac-4forums-dev`: 207 forum debates, 7,070 pairs
voted by a panel whose annotators vary per pair) a fixed test split is cut by conversation
(`prep.split`, seeded, stratified by yes-rate); the rest is the pool a team would label.
Starting from --start random labelled pool pairs, each round adds --step more until the pool is
used up, chosen three ways:

    random        a seeded random choice
    uncertainty   the most uncertain pairs under the current model (`eval.queue.scores`)
    spread        the same, spread over conversations and contributors (`eval.queue.select`)

The model is retrained every round: the cheapest strong model of `bench.quality` (the
bi-encoder): frozen all-MiniLM-L6-v2 embeddings of the contributor's own messages (windows,
mean-pooled; `bench.labelling_embed`, computed once and cached) with the statement's embedding,
and a logistic regression (`encoders.bi_encoder.classifier`, C fixed) on the pair's features
(`pair_features`: principal components of v and u*v, and a weight per statement).
Test F1 and MCC at P(yes) >= 0.5 (the class weights are balanced), mean and spread over --seeds.

Planted noise: 10% of the pool's labels are flipped (seeded); out-of-fold P(yes) (5 folds by
conversation) feed cleanlab's label-quality ranking (`eval.label_quality.label_issues`), and
the share of flips in its worst 10% is counted. CROWDLAB (`eval.label_quality.crowdlab`) on the
panel's own votes with out-of-fold P(yes) gives a consensus and the annotators' quality.

Resumable: embeddings, each curve's rounds and the noise runs are cached under --work and skipped
on a re-run (delete the folder to redo).
"""

from __future__ import annotations

import argparse
import json
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from bench.labelling_embed import embed
from encoders.bi_encoder import classifier
from eval.label_quality import crowdlab, label_issues, vote_frame
from eval.stats import confidence_intervals
from eval.queue import scores, select
from core.cli import run_cli
from core.manifest import manifest
from core.metrics import contributor_metrics
from prep.validate import load_tables
from prep.split import split_conversations, yes_rates

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "iac-4forums-dev"
RESULTS = ROOT / "bench" / "results"
STRATEGIES = ("random", "uncertainty", "spread")
TEST_FRACTION = 0.2
NOISE = 0.1  # share of pool labels flipped, and share of the ranking inspected
C = 0.01  # the logistic regression's regularisation, fixed for every round
COMPONENTS, STATEMENT_COMPONENTS = 32, 16  # principal components of the pair features (`pair_features`)
FOLDS = 5
VERSIONS_SHOWN = ("numpy", "scikit-learn", "sentence-transformers", "torch")
SETTINGS = {  # window_tokens, max_windows, start, step, conversations (None: all), seeds
    "full": {"window_tokens": 64, "max_windows": 2, "start": 200, "step": 200, "conversations": None, "seeds": 3},
    "quick": {"window_tokens": 32, "max_windows": 1, "start": 20, "step": 20, "conversations": 8, "seeds": 2},
}


def load(settings: dict, work: Path):
    """Pairs (stances), their features, 0/1 labels, conversation ids, the test mask, and the embedding cost."""
    tables = load_tables(DATA / "messages.csv", DATA / "stances.csv")
    stances, messages = tables.stances, tables.messages
    if settings["conversations"]:
        keep = set(sorted({s["conversation_id"] for s in stances})[:settings["conversations"]])
        stances = [s for s in stances if s["conversation_id"] in keep]
        messages = [m for m in messages if m["conversation_id"] in keep]
    cache = work / f"embeddings-w{settings['window_tokens']}-k{settings['max_windows']}"
    embedded = embed(messages, stances, cache, settings["window_tokens"], settings["max_windows"])
    row = {unit: i for i, unit in enumerate(embedded.units)}
    u = np.stack([embedded.statements[s["statement_id"]] for s in stances])
    v = embedded.contributors[[row[(s["conversation_id"], s["contributor"])] for s in stances]]
    features = pair_features(u, v, [s["statement_id"] for s in stances])
    labels = np.array([s["label"] == "yes" for s in stances], dtype=int)
    conversations = np.array([s["conversation_id"] for s in stances])
    split = split_conversations(sorted(set(conversations)), {"train": 1 - TEST_FRACTION, "dev": 0.0, "test": TEST_FRACTION},
                                seed=0, yes_rates=yes_rates(stances))
    test = np.array([split[c] == "test" for c in conversations])
    return stances, features, labels, conversations, test, embedded.cost


def pair_features(u: np.ndarray, v: np.ndarray, statement_ids: list[str]) -> np.ndarray:
    """v and u*v reduced to COMPONENTS principal components each, the statement one-hot, and the one-hot
    times STATEMENT_COMPONENTS components of v: a weight per statement, as a topic's two statements
    are opposite sides. Principal components are fitted on every pair's embeddings, no label used.
    Against the bi-encoder's [u, v, |u-v|, u*v] (1,536 numbers) on the full pool: test ROC AUC
    0.70 against 0.69, and a fit 5-8 times faster."""
    from sklearn.decomposition import PCA

    def reduced(x: np.ndarray, k: int) -> np.ndarray:
        return PCA(min(k, *x.shape), random_state=0).fit_transform(x)

    names = sorted(set(statement_ids))
    one_hot = np.array([[sid == name for name in names] for sid in statement_ids], dtype=float)
    per_statement = (one_hot[:, :, None] * reduced(v, STATEMENT_COMPONENTS)[:, None, :]).reshape(len(v), -1)
    return np.hstack([reduced(v, COMPONENTS), reduced(u * v, COMPONENTS), one_hot, per_statement])


def fit_predict(features: np.ndarray, labels: np.ndarray, train: np.ndarray, seed: int) -> np.ndarray:
    """P(yes) of every pair from a model fitted on the `train` indices."""
    return classifier(C, seed).fit(features[train], labels[train]).predict_proba(features)[:, 1]


def metrics(labels: np.ndarray, p_yes: np.ndarray) -> dict:
    gold = ["yes" if y else "no" for y in labels]
    scored = contributor_metrics(gold, ["yes" if p >= 0.5 else "no" for p in p_yes])
    return {"f1": round(scored["f1"], 4), "mcc": round(scored["mcc"], 4)}


def next_batch(strategy: str, p_yes: np.ndarray, unlabelled: np.ndarray, stances: list[dict], step: int,
               rng: np.random.Generator) -> np.ndarray:
    if strategy == "random" or len(unlabelled) <= step:
        return rng.choice(unlabelled, min(step, len(unlabelled)), replace=False)
    score = scores(p_yes[unlabelled][None, :])["score"]
    if strategy == "uncertainty":
        return unlabelled[np.argsort(-score, kind="stable")[:step]]
    chosen, _ = select([stances[i] for i in unlabelled], score, step)
    return unlabelled[chosen]


def curve(strategy: str, seed: int, data, settings: dict, path: Path) -> list[dict]:
    """One strategy's rounds for one seed, saved after every round (a re-run resumes)."""
    stances, features, labels, _, test, _ = data
    pool = np.flatnonzero(~test)
    state = json.loads(path.read_text()) if path.is_file() else {"rounds": [], "labelled": None}
    rng = np.random.default_rng([seed, len(state["rounds"])])
    labelled = np.array(state["labelled"]) if state["labelled"] else np.random.default_rng(seed).choice(
        pool, settings["start"], replace=False)
    while not state["rounds"] or state["rounds"][-1]["labels"] < len(pool):
        started = time.process_time()
        p_yes = fit_predict(features, labels, labelled, seed)
        fit_cpu = time.process_time() - started
        unlabelled = np.setdiff1d(pool, labelled)
        batch = next_batch(strategy, p_yes, unlabelled, stances, settings["step"], rng) if len(unlabelled) else []
        state["rounds"].append({"labels": int(len(labelled)), **metrics(labels[test], p_yes[test]),
                                "fit_cpu_seconds": round(fit_cpu, 3),
                                "round_cpu_seconds": round(time.process_time() - started, 3)})
        labelled = np.concatenate([labelled, batch]).astype(int)
        state["labelled"] = labelled.tolist()
        path.write_text(json.dumps(state) + "\n")
        rng = np.random.default_rng([seed, len(state["rounds"])])
    return state["rounds"]


def out_of_fold(features: np.ndarray, labels: np.ndarray, conversations: np.ndarray, rows: np.ndarray,
                seed: int) -> np.ndarray:
    """P(yes) of each of `rows` from a model that did not see its conversation (5 folds)."""
    from sklearn.model_selection import GroupKFold

    p_yes = np.zeros(len(rows))
    for train, held in GroupKFold(FOLDS).split(rows, groups=conversations[rows]):
        p_yes[held] = classifier(C, seed).fit(features[rows[train]], labels[rows[train]]).predict_proba(
            features[rows[held]])[:, 1]
    return p_yes


def planted_noise(seed: int, data, path: Path) -> dict:
    """Flip NOISE of the pool's labels; how many flips land in the label-quality ranking's worst NOISE."""
    if path.is_file():
        return json.loads(path.read_text())
    _, features, labels, conversations, test, _ = data
    pool = np.flatnonzero(~test)
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(pool), round(NOISE * len(pool)), replace=False)
    noisy = labels[pool].copy()
    noisy[flipped] = 1 - noisy[flipped]
    noisy_all = labels.copy()
    noisy_all[pool] = noisy
    started = time.process_time()
    p_yes = out_of_fold(features, noisy_all, conversations, pool, seed)
    quality, flagged = label_issues(noisy, p_yes)
    worst = np.argsort(quality, kind="stable")[:len(flipped)]
    is_flipped = np.isin(np.arange(len(pool)), flipped)
    result = {"seed": seed, "pool": int(len(pool)), "flipped": int(len(flipped)),
              "flipped_in_worst_10pct": int(is_flipped[worst].sum()),
              "share_found": round(float(is_flipped[worst].mean()), 4),
              "flagged": int(flagged.sum()), "flagged_flipped": int((flagged & is_flipped).sum()),
              "cpu_seconds": round(time.process_time() - started, 1)}
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def panel_quality(data, path: Path) -> dict:
    """CROWDLAB on the panel's own votes with out-of-fold P(yes) over every pair."""
    if path.is_file():
        return json.loads(path.read_text())
    stances, features, labels, conversations, _, _ = data
    annotators = sorted({c for s in stances for c in s if c.startswith("annotator_")}, key=lambda a: int(a.split("_")[1]))
    every = np.arange(len(stances))
    p_yes = out_of_fold(features, labels, conversations, every, 0)
    items, stats = crowdlab(vote_frame(stances, annotators), p_yes)
    consensus = items["consensus_label"].to_numpy()
    votes = vote_frame(stances, annotators).notna().sum(axis=1)
    result = {"pairs": len(stances), "votes_per_pair": {"min": int(votes.min()), "median": float(votes.median()),
                                                       "max": int(votes.max())},
              "consensus_differs_from_majority": int((consensus != labels).sum()),
              "consensus_quality_below_0.5": int((items["consensus_quality_score"] < 0.5).sum()),
              "model_agreement_with_majority": round(float(((p_yes >= 0.5) == labels).mean()), 4),
              "annotators": {a: {"votes": int(row["num_examples_labeled"]), "quality": round(float(row["annotator_quality"]), 4),
                                 "agreement_with_consensus": round(float(row["agreement_with_consensus"]), 4)}
                             for a, row in stats.iterrows()}}
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def labels_to_reach(rounds: list[dict], target: float, metric: str = "f1") -> int | None:
    """The fewest labels at which the mean `metric` reaches `target` (None: never)."""
    return next((r["labels"] for r in rounds if r[metric] >= target - 1e-9), None)


def summarise(curves: dict[str, list[list[dict]]]) -> dict:
    """Per strategy: mean and min/max F1 and MCC per round over the seeds, and the labels needed
    to reach the F1 that random choice reaches with every label."""
    summary = {}
    for strategy, runs in curves.items():
        rounds = []
        for per_seed in zip(*runs):
            f1, mcc = [r["f1"] for r in per_seed], [r["mcc"] for r in per_seed]
            rounds.append({"labels": per_seed[0]["labels"], "f1": round(float(np.mean(f1)), 4),
                           "f1_min": min(f1), "f1_max": max(f1), "mcc": round(float(np.mean(mcc)), 4),
                           "mcc_min": min(mcc), "mcc_max": max(mcc),
                           "round_cpu_seconds": round(float(np.mean([r["round_cpu_seconds"] for r in per_seed])), 3)})
        summary[strategy] = {"rounds": rounds}
    target, target_mcc = summary["random"]["rounds"][-1]["f1"], summary["random"]["rounds"][-1]["mcc"]
    pool = summary["random"]["rounds"][-1]["labels"]
    for entry in summary.values():
        needed = labels_to_reach(entry["rounds"], target)
        entry.update({"labels_to_reach_random_final_f1": needed,
                      "share_of_pool": None if needed is None else round(needed / pool, 3),
                      "labels_to_reach_random_final_mcc": labels_to_reach(entry["rounds"], target_mcc, "mcc")})
    return {"target_f1": target, "target_mcc": target_mcc, "pool": pool, "strategies": summary}


def final_with_floor(data) -> dict:
    """Test F1 and MCC with 95% CIs (bootstrap by conversation, `eval.stats`) of the model fitted on the
    whole pool, and of the always-yes floor."""
    stances, features, labels, _, test, _ = data
    p_yes = fit_predict(features, labels, np.flatnonzero(~test), 0)
    scored = {}
    for name, predicted in (("all_labels", p_yes >= 0.5), ("always_yes", np.ones(len(labels), dtype=bool))):
        pairs = [{"conversation_id": stances[i]["conversation_id"], "gold": "yes" if labels[i] else "no",
                  "prediction": "yes" if predicted[i] else "no"} for i in np.flatnonzero(test)]
        ci = confidence_intervals(pairs)
        scored[name] = {**metrics(labels[test], predicted[test].astype(float)),
                        **{f"{m}_ci": [round(ci[m]["low"], 4), round(ci[m]["high"], 4)] for m in ("f1", "mcc")}}
    return scored


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for strategy, entry in result["curves"]["strategies"].items():
        rounds = entry["rounds"]
        x = [r["labels"] for r in rounds]
        for axis, metric in zip(axes, ("f1", "mcc")):
            axis.plot(x, [r[metric] for r in rounds], label=strategy)
            axis.fill_between(x, [r[f"{metric}_min"] for r in rounds], [r[f"{metric}_max"] for r in rounds], alpha=0.2)
    target = result["curves"]["target_f1"]
    axes[0].axhline(target, color="grey", linestyle="--", linewidth=1, label=f"random, all labels: {target:.3f}")
    for axis, metric in zip(axes, ("F1", "MCC")):
        axis.set_xlabel("labelled pairs")
        axis.set_ylabel(f"test {metric} (mean; band: min-max over seeds)")
        axis.legend()
    beats = [s for s, e in result["curves"]["strategies"].items() if s != "random"
             and e["labels_to_reach_random_final_f1"] is not None
             and e["labels_to_reach_random_final_f1"] < result["curves"]["strategies"]["random"]["labels_to_reach_random_final_f1"]]
    figure.suptitle("Labelling rounds on IAC dev topics: " + (f"{', '.join(beats)} reach random's final F1 with fewer labels"
                                                              if beats else "no strategy beats random choice"))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def interval(scores: dict, metric: str) -> str:
    low, high = scores[f"{metric}_ci"]
    return f"{scores[metric]:.3f} [{low:.3f}, {high:.3f}]"


def seeds_flag(result: dict) -> str:
    """' --seeds N' when the run had fewer or more seeds than its default."""
    default = SETTINGS["quick" if result["quick"] else "full"]["seeds"]
    return "" if result["settings"]["seeds"] == default else f" --seeds {result['settings']['seeds']}"


def markdown(result: dict) -> str:
    s, curves, cost, final = result["settings"], result["curves"], result["embedding"], result["final"]
    lines = [
        "# Labelling rounds (IAC dev topics)", "",
        f"Made by `python -m bench.labelling{' --quick' if result['quick'] else ''}{seeds_flag(result)}` at commit "
        f"`{(result['manifest']['commit'] or '?')[:12]}`; " + ", ".join(
            f"{k} {v}" for k, v in result["manifest"]["versions"].items() if k in VERSIONS_SHOWN)
        + f", cleanlab {result['cleanlab']}.", "",
        f"Pairs: {result['pairs']['pool']} in the pool ({result['pairs']['pool_conversations']} conversations), "
        f"{result['pairs']['test']} in the fixed test split ({result['pairs']['test_conversations']} conversations, "
        f"{result['pairs']['test_yes']} yes). Start {s['start']} random labels, +{s['step']} per round, {s['seeds']} seeds. "
        f"Model: MiniLM windows of {s['window_tokens']} tokens, at most {s['max_windows']} per contributor (spread over "
        f"their messages), mean-pooled; features: {COMPONENTS} principal components of v and of u*v, the statement "
        f"one-hot and one-hot x {STATEMENT_COMPONENTS} components of v; logistic regression (C {C}, balanced), "
        "threshold 0.5.", "",
        f"Embedding pass (once, cached): {cost['units']} contributors, {cost['windows']} windows, "
        f"{cost['embedding_cpu_seconds']} CPU s ({cost['embedding_seconds']} s wall on a shared 2-core machine).", "",
        f"With all {curves['pool']} labels: F1 {interval(final['all_labels'], 'f1')}, MCC "
        f"{interval(final['all_labels'], 'mcc')} (95% CIs, bootstrap by conversation); the always-yes floor: "
        f"F1 {interval(final['always_yes'], 'f1')}, MCC 0. F1 at a "
        "0.5 threshold sits near the floor on this test split (43% yes); MCC is the one that moves.", "",
        "| strategy | labels to reach random's final F1 | share of the pool | labels to reach its final MCC "
        "| F1 at 200 / 1,000 / 2,000 labels | CPU s per round (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for strategy, entry in curves["strategies"].items():
        at = {r["labels"]: r["f1"] for r in entry["rounds"]}
        marks = " / ".join(f"{at[n]:.3f}" if n in at else "-" for n in (200, 1000, 2000))
        needed = entry["labels_to_reach_random_final_f1"]
        needed_mcc = entry["labels_to_reach_random_final_mcc"]
        lines.append(f"| {strategy} | {needed if needed is not None else 'never'} | "
                     f"{entry['share_of_pool'] if needed is not None else '-'} | "
                     f"{needed_mcc if needed_mcc is not None else 'never'} | {marks} | "
                     f"{np.mean([r['round_cpu_seconds'] for r in entry['rounds']]):.2f} |")
    lines += ["", "Every round (F1 mean [min, max] over seeds; MCC mean):", "",
              "| labels | " + " | ".join(curves["strategies"]) + " |", "|---|" + "---|" * len(curves["strategies"])]
    for i, r in enumerate(curves["strategies"]["random"]["rounds"]):
        cells = []
        for entry in curves["strategies"].values():
            q = entry["rounds"][i]
            cells.append(f"F1 {q['f1']:.3f} [{q['f1_min']:.3f}, {q['f1_max']:.3f}], MCC {q['mcc']:.3f}")
        lines.append(f"| {r['labels']} | " + " | ".join(cells) + " |")
    noise = result["planted_noise"]
    lines += ["", f"Planted noise: {NOISE:.0%} of the pool's labels flipped; out-of-fold P(yes) ({FOLDS} folds by "
              "conversation); cleanlab's label-quality ranking, its worst 10% inspected:", "",
              "| seed | flipped | in the worst 10% | share found | flagged by the finder (of them flipped) | CPU s |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {n['seed']} | {n['flipped']} | {n['flipped_in_worst_10pct']} | {n['share_found']:.1%} | "
              f"{n['flagged']} ({n['flagged_flipped']}) | {n['cpu_seconds']} |" for n in noise]
    found = np.mean([n["share_found"] for n in noise])
    lines += ["", f"Mean share of the flips in the worst 10%: {found:.1%}, where a random ranking finds {NOISE:.0%}"
              f" ({found / NOISE:.1f} times as many); the ranking is only as good as the model's P(yes) "
              f"(out-of-fold agreement with the majority label: {result['panel']['model_agreement_with_majority']:.1%})."]
    panel = result["panel"]
    lines += ["", f"CROWDLAB on the panel's votes ({panel['pairs']} pairs, {panel['votes_per_pair']['min']}-"
              f"{panel['votes_per_pair']['max']} votes each, median {panel['votes_per_pair']['median']:g}; out-of-fold "
              f"P(yes), which agrees with the majority on {panel['model_agreement_with_majority']:.1%}): the consensus "
              f"differs from the strict majority on {panel['consensus_differs_from_majority']} pairs; "
              f"{panel['consensus_quality_below_0.5']} pairs have a consensus quality below 0.5. The IAC columns "
              "annotator_1..19 are vote slots, not fixed people, so the per-column quality below is a check of "
              "the method, not of anyone:", "",
              "| column | votes | quality | agreement with consensus |", "|---|---|---|---|"]
    lines += [f"| {a} | {q['votes']} | {q['quality']:.3f} | {q['agreement_with_consensus']:.3f} |"
              for a, q in panel["annotators"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few conversations and small windows (tests)")
    parser.add_argument("--work", type=Path, help="cache folder (default runs/labelling, or runs/labelling-quick)")
    parser.add_argument("--seeds", type=int, help="seeds to run (default 3, --quick 2); finished ones are reused")
    parser.add_argument("--results", type=Path, help="where labelling.{md,json,png} go (default bench/results; "
                        "with --quick, the work folder)")
    args = parser.parse_args(argv)
    settings = {**SETTINGS["quick" if args.quick else "full"], **({"seeds": args.seeds} if args.seeds else {})}
    work = args.work or ROOT / "runs" / ("labelling-quick" if args.quick else "labelling")
    results = args.results or (work if args.quick else RESULTS)
    data = load(settings, work)
    stances, _, labels, conversations, test, cost = data
    seeds = range(settings["seeds"])
    (work / "rounds").mkdir(parents=True, exist_ok=True)
    curves = {strategy: [] for strategy in STRATEGIES}
    for seed in seeds:  # seed by seed: an interrupted run has whole seeds to show
        for strategy in STRATEGIES:
            curves[strategy].append(curve(strategy, seed, data, settings, work / "rounds" / f"{strategy}-{seed}.json"))
    noise = [planted_noise(seed, data, work / f"noise-{seed}.json") for seed in seeds]
    result = {
        "quick": args.quick, "settings": settings, "embedding": cost,
        "manifest": manifest({**settings, "C": C, "components": [COMPONENTS, STATEMENT_COMPONENTS],
                              "test_fraction": TEST_FRACTION, "noise": NOISE, "folds": FOLDS},
                             [DATA / "messages.csv", DATA / "stances.csv"]),
        "cleanlab": version("cleanlab"),
        "pairs": {"pool": int((~test).sum()), "test": int(test.sum()), "test_yes": int(labels[test].sum()),
                  "pool_conversations": len(set(conversations[~test])), "test_conversations": len(set(conversations[test]))},
        "curves": summarise(curves), "final": final_with_floor(data), "planted_noise": noise, "panel": panel_quality(data, work / "panel.json"),
    }
    results.mkdir(parents=True, exist_ok=True)
    (results / "labelling.json").write_text(json.dumps(result, indent=2) + "\n")
    (results / "labelling.md").write_text(markdown(result))
    plot(result, results / "labelling.png")
    print((results / "labelling.md").read_text())
    return result


if __name__ == "__main__":
    run_cli(main)
