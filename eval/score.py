"""Score any run's predictions against gold: metrics.json, report.md and PNG plots.

    python -m eval.score --predictions runs/smollm2_cpu/predictions.jsonl \\
        [--aggregation any-yes] [--dev-predictions D | --threshold 0.5 | --as-predicted] \\
        [--tables data/prepared/demo/tables | --messages data/demo/messages.jsonl --stances data/demo/stances.jsonl]

Question-level predictions are aggregated to contributor pairs (`eval.aggregate`); the
threshold on P(yes) is tuned on dev predictions (--dev-predictions, by default the
dev_predictions.jsonl beside --predictions; frozen, then applied here), a fixed --threshold, or
the one the predictions were made with (--as-predicted, and where no dev predictions exist). Answers that are not 'yes'/'no'
are '[invalid]', counted, never guessed. The canonical tables add the language and position
breakdowns and the human ceiling: prep's OUT/tables (pseudonymised like the predictions, with
each message's detected language) or the raw tables for predictions made without pseudonyms.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.cli import run_cli
from core.labels import LABELS
from core.manifest import manifest
from core.metrics import HEADLINE, contributor_metrics
from core.runs import load_predictions
from eval import breakdown, stats
from eval.aggregate import AGGREGATIONS, contributor_pairs
from eval.plots import breakdown_plot, reliability_plot

SCHEMA_VERSION = 3  # 3: "ranking" (ROC AUC with its CI, average precision)


def score(predictions: list[dict], aggregation: str = "any-yes", threshold: float | None = None,
          threshold_source: str = "as predicted", tables=None, seed: int = 0) -> dict:
    if any(p["gold"] not in LABELS for p in predictions):
        raise ValueError("every prediction needs a gold label 'yes' or 'no'")
    pairs = contributor_pairs(predictions, aggregation, threshold)
    contributors = breakdown.by_contributor(tables.messages) if tables is not None else None
    return {
        "schema_version": SCHEMA_VERSION, "aggregation": aggregation,
        "threshold": {"value": threshold, "source": threshold_source},
        "modes": sorted({p["mode"] for p in predictions}),
        **contributor_metrics([p["gold"] for p in pairs], [p["prediction"] for p in pairs]),
        "questions": len(predictions), "invalid_questions": sum(p["prediction"] not in LABELS for p in predictions),
        "ci": stats.confidence_intervals(pairs, seed),
        "ranking": stats.ranking(pairs, seed),
        "calibration": stats.calibration(pairs),
        "breakdowns": breakdown.breakdowns(pairs, contributors),
        "human_ceiling": breakdown.human_ceiling(pairs, tables.stances, tables.annotators) if tables else None,
    }


def interval(metrics: dict, name: str) -> str:
    ci = (metrics.get("ci") or {}).get(name)
    return f" [{ci['low']:.3f}, {ci['high']:.3f}]" if ci else ""


def markdown_table(runs: dict[str, dict]) -> str:
    """One row per run: headline metrics (F1 with its 95% CI by conversation), then counts."""
    header = "| run | " + " | ".join(HEADLINE) + " | n | gold yes | predicted yes | invalid |"
    lines = [header, "|---" * (len(HEADLINE) + 5) + "|"]
    for name, m in runs.items():
        values = " | ".join(f"{m[k]:.3f}" + (interval(m, k) if k == "f1" else "") if k in m else "–" for k in HEADLINE)
        lines.append(f"| {name} | {values} | {m['n']} | {m['gold_yes']} | {m['predicted_yes']} | {m['invalid']} |")
    return "\n".join(lines) + "\n"


def group_table(rows: list[dict]) -> str:
    lines = ["| group | n | gold yes | predicted yes | invalid | f1 | precision | recall | accuracy |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['group']} | {r['n']} | {r['gold_yes']} | {r['predicted_yes']} | {r['invalid']} | {r['f1']:.3f} "
              f"| {r['precision']:.3f} | {r['recall']:.3f} | {r['accuracy']:.3f} |" for r in rows]
    return "\n".join(lines) + "\n"


def report(name: str, metrics: dict, source: str, plots: list[str]) -> str:
    threshold = metrics["threshold"]
    parts = [
        f"# {name}\n\n",
        f"Contributor-level scores of `{source}`: {metrics['n']} pairs from {metrics['questions']} questions "
        f"(mode {', '.join(metrics['modes'])}), aggregation `{metrics['aggregation']}`, threshold on P(yes): "
        f"{threshold['source'] if threshold['value'] is None else f'{threshold['value']:.4f} ({threshold['source']})'}. "
        f"Invalid answers: {metrics['invalid_questions']} questions, {metrics['invalid']} pairs (counted wrong, never guessed). "
        "95% CIs: percentile bootstrap over conversations.\n\n",
        markdown_table({name: metrics}),
        "\n| metric | value | 95% CI |\n|---|---|---|\n" + "".join(
            f"| {k} | {metrics[k]:.3f} | {interval(metrics, k).strip() or '–'} |\n" for k in HEADLINE),
    ]
    ranked = metrics["ranking"]
    if ranked:
        ci = ranked["roc_auc_ci"]
        parts.append(f"\n## Ranking\n\nROC AUC {ranked['roc_auc']:.3f}" + (f" [{ci['low']:.3f}, {ci['high']:.3f}]" if ci else "")
                     + f" (0.5: no ranking), average precision {ranked['average_precision']:.3f} (floor: the yes-rate "
                     f"{metrics['gold_yes'] / metrics['n']:.3f}), on pair P(yes), whatever the threshold. "
                     f"F1 at the threshold best on these very pairs (the most tuning could give this ranking, not a "
                     f"result): {ranked['f1_best_threshold']:.3f}.\n")
    if metrics["calibration"]:
        parts.append(f"\n## Calibration\n\nBrier score {metrics['calibration']['brier']:.4f} on pair P(yes).\n")
    ceiling = metrics["human_ceiling"]
    if ceiling:
        parts.append(f"\n## Human ceiling\n\nMean annotator F1 {ceiling['mean_f1']:.3f}: each annotator against the "
                     "majority of the other annotators, on this run's pairs (`prep.panel`).\n\n"
                     "| annotator | n | f1 | precision | recall | accuracy |\n|---|---|---|---|---|---|\n" + "".join(
                         f"| {a} | {m['n']} | {m['f1']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | {m['accuracy']:.3f} |\n"
                         for a, m in ceiling["per_annotator"].items()))
    for kind, rows in metrics["breakdowns"].items():
        parts.append(f"\n## By {kind}\n\n" + group_table(rows))
    parts += [f"\n![{Path(p).stem}]({Path(p).name})\n" for p in plots]
    return "".join(parts)


def write_run_report(out: Path, name: str, metrics: dict, source: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    plots = [breakdown_plot(metrics["breakdowns"], out / "breakdowns.png")]
    if metrics["calibration"]:
        plots.append(reliability_plot({name: metrics["calibration"]}, out / "reliability.png"))
    (out / "report.md").write_text(report(name, metrics, source, [str(p) for p in plots if p]), encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", required=True, type=Path)
    parser.add_argument("--out", type=Path, help="folder for metrics.json, report.md, plots (default: beside predictions)")
    parser.add_argument("--name", help="run name in the report (default: the folder name)")
    parser.add_argument("--aggregation", choices=AGGREGATIONS, default="any-yes")
    threshold = parser.add_mutually_exclusive_group()
    threshold.add_argument("--threshold", type=float, help="fixed threshold on P(yes)")
    threshold.add_argument("--dev-predictions", type=Path,
                           help="tune the threshold on these dev predictions (default: dev_predictions.jsonl beside --predictions)")
    threshold.add_argument("--as-predicted", action="store_true", help="keep the answers as predicted, even with dev predictions")
    parser.add_argument("--tables", type=Path, help="prep's OUT/tables folder (messages.jsonl, stances.jsonl)")
    parser.add_argument("--messages", type=Path, help="canonical messages table (language and position breakdowns)")
    parser.add_argument("--stances", type=Path, help="canonical stances table (human ceiling)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = parser.parse_args(argv)
    if (args.messages is None) != (args.stances is None):
        parser.error("--messages and --stances go together")
    if args.tables:
        if args.messages:
            parser.error("give --tables or --messages/--stances, not both")
        args.messages, args.stances = args.tables / "messages.jsonl", args.tables / "stances.jsonl"
    out = args.out or args.predictions.parent
    name = args.name or out.name
    value, source = args.threshold, "as predicted" if args.threshold is None else "fixed"
    beside = args.predictions.parent / "dev_predictions.jsonl"
    if args.threshold is None and not args.as_predicted and args.dev_predictions is None and beside.is_file() \
            and beside.resolve() != args.predictions.resolve():
        args.dev_predictions = beside
    if args.dev_predictions:
        tuned = stats.tune_threshold(load_predictions(args.dev_predictions), args.aggregation)
        value, source = tuned["value"], f"tuned on {args.dev_predictions} (dev F1 {tuned['dev_f1']:.3f}), frozen"
    tables = None
    if args.messages:
        from prep.validate import load_tables

        tables = load_tables(args.messages, args.stances)
    metrics = score(load_predictions(args.predictions), args.aggregation, value, source, tables, args.seed)
    inputs = [p for p in (args.predictions, args.dev_predictions, args.messages, args.stances) if p is not None]
    metrics["manifest"] = manifest({"aggregation": args.aggregation, "threshold": args.threshold}, inputs, args.seed)
    write_run_report(out, name, metrics, str(args.predictions))
    print(markdown_table({name: metrics}))
    return metrics


if __name__ == "__main__":
    run_cli(main)
