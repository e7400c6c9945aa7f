"""The README's numbers, rendered from committed results, never typed.

    python -m bench.readme           # rewrite the generated sections of README.md
    python -m bench.readme --check   # exit 1, with a diff, where README.md differs from the render

A generated section sits between `<!-- generated: NAME -->` and `<!-- end: NAME -->`; NAME picks
its renderer below, and each renderer reads one file of bench/results (written by `make demo`,
`python -m bench.test_suite` and `python -m bench.quality`). Prose outside the markers is kept.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

from core.cli import UserError, run_cli

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECTION = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n).*?(<!-- end: (?P=name) -->)", re.S)


def load(name: str) -> dict:
    path = RESULTS / name
    if not path.is_file():
        raise UserError(f"{path.relative_to(ROOT)}: missing (its command is named in bench/README.md)")
    return json.loads(path.read_text(encoding="utf-8"))


def interval(ci: dict | None) -> str:
    return f" [{ci['low']:.3f}, {ci['high']:.3f}]" if ci else ""


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def demo_scores() -> str:
    demo = load("demo.json")
    test, compare = demo["test_split"], demo["compare"]
    lines = [f"The demo's test split ({test['conversations']} conversations, {compare['shared_pairs']} pairs, "
             f"{next(iter(demo['runs'].values()))['gold_yes']} \"yes\"; thresholds tuned on dev and frozen; "
             f"commit {demo['manifest']['commit'][:7]}):", "",
             "| run | F1 [95% CI, bootstrap by conversation] | precision | recall | accuracy | MCC |", "|---|---|---|---|---|---|"]
    for name, m in demo["runs"].items():
        lines.append(f"| {name} | {m['f1']:.3f}{interval(m['ci'].get('f1'))} | {m['precision']:.3f} | {m['recall']:.3f} "
                     f"| {m['accuracy']:.3f} | {m['mcc']:.3f} |")
    delta, mcnemar = compare["deltas"]["f1"], compare["mcnemar"]
    ceiling = next(iter(demo["runs"].values()))["human_ceiling"]
    lines += ["", f"F1 delta {delta['delta']:+.3f} (paired bootstrap 95% CI {delta['ci']['low']:+.3f} to "
                  f"{delta['ci']['high']:+.3f}); McNemar p = {mcnemar['p_value']:.2f} on {mcnemar['discordant']} "
                  "discordant pairs: the demo shows that the pipeline runs end to end, not that a 135M model solves the task."]
    if ceiling:
        lines[-1] += f" The annotators' own ceiling on the demo panel is F1 {ceiling['f1']:.3f}."
    return "\n".join(lines)


def measured() -> str:
    demo = load("demo.json")
    suite = load("test_suite.json") if (RESULTS / "test_suite.json").is_file() else {"tiers": {}}
    hardware, load_average = demo["manifest"]["hardware"], demo.get("load_average_max")
    lines = [f"On {hardware['cores']} CPU cores ({hardware['cpu']}), no GPU"
             + (f"; the demo's highest 1-minute load average was {load_average}" if load_average is not None else "")
             + ":", "", "| what | time |", "|---|---|",
             f"| `make demo` with `.venv` in place: every stage of `bench/demo.py` (Axolotl training: "
             f"{minutes(demo['seconds']['axolotl train'])}) | {minutes(demo['total_seconds'])} |"]
    for tier, run in suite["tiers"].items():
        counts = ", ".join(f"{n} {outcome}" for outcome, n in run["outcomes"].items())
        lines.append(f"| `make {tier}`, pytest alone ({counts}) | {minutes(run['seconds'])} |")
    lines += ["", "Stages of the demo: " + ", ".join(f"{name} {minutes(s)}" for name, s in demo["seconds"].items()) + "."]
    if suite["tiers"]:
        lines[-1] += (f" Test timings with the slowest files: `bench/results/test_suite.json` (`python -m bench.test_suite`, "
                      f"commit {suite['manifest']['commit'][:7]}).")
    return "\n".join(lines)


def quality() -> str:
    """Each dataset's headline table from quality.md, and its tables of subsets of the test pairs (the
    LLM rows' sample, the newcomers; the length breakdowns stay there)."""
    text = (RESULTS / "quality.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if not sections:
        raise UserError("bench/results/quality.md: no dataset section ('## name')")
    blocks = []
    for name, body in sections:
        paragraphs = body.strip().split("\n\n")
        table = next(i for i, p in enumerate(paragraphs) if p.startswith("| run |"))
        if paragraphs[table + 1:] and paragraphs[table + 1].startswith("†"):  # the table's footnote
            table += 1
        subsets = [paragraphs[i:i + 2] for i, p in enumerate(paragraphs) if p.startswith(("The same ", "Newcomers: "))]
        blocks.append("\n\n".join([f"#### {name}", *paragraphs[:table + 1], *(p for subset in subsets for p in subset)]))
    return "\n\n".join(blocks) + "\n\nWith the breakdowns by length and each dataset's notes: [bench/results/quality.md](bench/results/quality.md)."


RENDERERS = {"demo-scores": demo_scores, "measured": measured, "quality": quality}


def render(readme: str) -> str:
    names = [m.group("name") for m in SECTION.finditer(readme)]
    unknown = sorted(set(names) - set(RENDERERS))
    if unknown:
        raise UserError(f"README.md: no renderer for section(s) {', '.join(unknown)} (known: {', '.join(RENDERERS)})")
    return SECTION.sub(lambda m: f"{m.group(1)}{RENDERERS[m.group('name')]()}\n{m.group(3)}", readme)


def main(argv: list[str] | None = None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--check", action="store_true", help="compare instead of rewriting")
    args = parser.parse_args(argv)
    current = args.readme.read_text(encoding="utf-8")
    rendered = render(current)
    if args.check:
        if rendered != current:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), rendered.splitlines(True),
                                                       "README.md", "rendered"))
            raise SystemExit(1)
        return True
    args.readme.write_text(rendered, encoding="utf-8")
    return rendered != current


if __name__ == "__main__":
    run_cli(main)
