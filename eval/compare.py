"""Compare two scored runs on the pairs they share: metric deltas with paired bootstrap CIs and
McNemar's test on per-pair correctness.

    python -m eval.compare runs/zero_shot runs/smollm2_cpu [--out runs/compare_zero_shot_vs_smollm2_cpu]

Each run folder holds predictions.jsonl and the metrics.json of `eval.score`; each run's
pairs are rebuilt with the aggregation and threshold its metrics.json records, so the
comparison is of the runs as scored.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.cli import UserError, run_cli
from core.metrics import HEADLINE, contributor_metrics
from core.runs import load_predictions, pair_key
from eval import stats
from eval.aggregate import contributor_pairs
from eval.score import markdown_table


def scored_pairs(run: Path) -> tuple[list[dict], dict]:
    metrics_file = run / "metrics.json"
    if not metrics_file.exists():
        raise UserError(f"{metrics_file}: score the run first (python -m eval.score --predictions {run}/predictions.jsonl)")
    metrics = json.loads(metrics_file.read_text())
    pairs = contributor_pairs(load_predictions(run / "predictions.jsonl"), metrics["aggregation"], metrics["threshold"]["value"])
    return pairs, metrics


def compare(a: list[dict], b: list[dict], seed: int = 0) -> dict:
    """B minus A on the shared pairs; gold labels must agree."""
    b_by_key = {pair_key(p): p for p in b}
    shared = [p for p in a if pair_key(p) in b_by_key]
    if not shared:
        raise UserError("the two runs share no (conversation, statement, contributor) pair")
    a_shared, b_shared = shared, [b_by_key[pair_key(p)] for p in shared]
    for x, y in zip(a_shared, b_shared):
        if x["gold"] != y["gold"]:
            raise UserError(f"gold labels differ for {pair_key(x)}: {x['gold']} vs {y['gold']}")
    metrics = [contributor_metrics([p["gold"] for p in run], [p["prediction"] for p in run]) for run in (a_shared, b_shared)]
    intervals = stats.bootstrap_by_conversation(
        [a_shared, b_shared], lambda m: {name: m[1][name] - m[0][name] for name in HEADLINE}, seed) or {}
    deltas = {name: {"a": metrics[0][name], "b": metrics[1][name], "delta": metrics[1][name] - metrics[0][name],
                     "ci": intervals.get(name)} for name in HEADLINE}
    return {"shared_pairs": len(shared), "only_a": len(a) - len(shared), "only_b": len(b) - len(shared),
            "metrics": {"a": metrics[0], "b": metrics[1]}, "deltas": deltas, "mcnemar": stats.mcnemar_test(a_shared, b_shared)}


def markdown(names: tuple[str, str], result: dict) -> str:
    a, b = names
    m = result["mcnemar"]
    lines = [f"# {b} vs {a}\n", f"{result['shared_pairs']} shared pairs (only in {a}: {result['only_a']}, "
             f"only in {b}: {result['only_b']}).\n", markdown_table({a: result["metrics"]["a"], b: result["metrics"]["b"]}),
             "\n| metric | " + a + " | " + b + " | delta (b - a) | 95% CI of delta |", "|---|---|---|---|---|"]
    for name, d in result["deltas"].items():
        ci = f"[{d['ci']['low']:+.3f}, {d['ci']['high']:+.3f}]" if d["ci"] else "–"
        lines.append(f"| {name} | {d['a']:.3f} | {d['b']:.3f} | {d['delta']:+.3f} | {ci} |")
    lines += ["", f"McNemar ({'exact binomial' if m['exact'] else 'chi-square, continuity-corrected'}) on per-pair "
              f"correctness: {m['discordant']} discordant pairs ({a} right only: {m['table'][0][1]}, {b} right only: "
              f"{m['table'][1][0]}), statistic {m['statistic']:.3f}, p = {m['p_value']:.4g}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--out", type=Path, help="folder for compare.json and compare.md")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    (a, _), (b, _) = scored_pairs(args.run_a), scored_pairs(args.run_b)
    result = compare(a, b, args.seed)
    names = (args.run_a.name, args.run_b.name)
    text = markdown(names, result)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "compare.json").write_text(json.dumps({"runs": names, **result}, indent=2) + "\n")
        (args.out / "compare.md").write_text(text)
    print(text)
    return result


if __name__ == "__main__":
    run_cli(main)
