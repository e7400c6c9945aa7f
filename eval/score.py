"""Score a run's predictions against gold: metrics.json + report.md.

    python -m eval.score --predictions runs/smollm2_cpu/predictions.jsonl

Predictions that are not 'yes'/'no' are normalised to '[invalid]' and counted.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.metrics import INVALID, contributor_metrics
from eval.predict import read_jsonl

SCHEMA_VERSION = 1
HEADLINE = ("f1", "precision", "recall", "accuracy")


def score(predictions: list[dict]) -> dict:
    gold = [p["gold"] for p in predictions]
    if any(g not in ("yes", "no") for g in gold):
        raise ValueError("every prediction needs a gold label 'yes' or 'no'")
    predicted = [p["prediction"] if p["prediction"] in ("yes", "no") else INVALID for p in predictions]
    return {"schema_version": SCHEMA_VERSION, **contributor_metrics(gold, predicted)}


def markdown_table(runs: dict[str, dict]) -> str:
    """One row per run: headline metrics, then counts."""
    header = "| run | " + " | ".join(HEADLINE) + " | n | gold yes | predicted yes | invalid |"
    lines = [header, "|---" * (len(HEADLINE) + 5) + "|"]
    for name, m in runs.items():
        values = " | ".join(f"{m[k]:.3f}" for k in HEADLINE)
        lines.append(f"| {name} | {values} | {m['n']} | {m['gold_yes']} | {m['predicted_yes']} | {m['invalid']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", required=True, type=Path)
    parser.add_argument("--out", type=Path, help="folder for metrics.json and report.md (default: beside predictions)")
    parser.add_argument("--name", help="run name in the report (default: the folder name)")
    args = parser.parse_args(argv)
    out = args.out or args.predictions.parent
    name = args.name or out.name
    metrics = score(read_jsonl(args.predictions))
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    report = f"# {name}\n\nContributor-level scores ({args.predictions.name}).\n\n" + markdown_table({name: metrics})
    (out / "report.md").write_text(report)
    print(markdown_table({name: metrics}))
    return metrics


if __name__ == "__main__":
    main()
