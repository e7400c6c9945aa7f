"""How long the test suite takes, per tier: bench/results/test_suite.json (the README renders it).

    python -m bench.test_suite [--tiers test-fast test]

`test-fast` is everything not marked slow (the edit-test loop, target under 5 minutes on 2
cores); `test` is everything (what CI runs, target under 30 minutes of pytest). Each tier's
wall time, outcome counts and slowest files come from pytest's own JUnit XML report; a tier
already in the results file is kept unless named again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter, defaultdict
from pathlib import Path

from core.cli import run_cli
from core.manifest import manifest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "test_suite.json"
TIERS = {"test-fast": ["-m", "not slow"], "test": []}


def run_tier(arguments: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q", *arguments, f"--junitxml={report}", "tests"], cwd=ROOT)
        seconds = time.perf_counter() - started
        cases = ElementTree.parse(report).getroot().iter("testcase")
        outcomes, per_file = Counter(), defaultdict(float)
        for case in cases:
            outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
            outcomes[{"failure": "failed", "error": "errors"}.get(outcome, outcome)] += 1
            per_file[case.get("classname", "").split(".")[-1] or "?"] += float(case.get("time", 0))
    slowest = dict(sorted(((f"{name}.py", round(s, 1)) for name, s in per_file.items()), key=lambda x: -x[1])[:8])
    return {"seconds": round(seconds, 1), "outcomes": dict(sorted(outcomes.items())), "slowest_files": slowest}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", nargs="+", choices=list(TIERS), default=list(TIERS))
    args = parser.parse_args(argv)
    recorded = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {"tiers": {}}
    for tier in args.tiers:
        print(f"== make {tier}", flush=True)
        recorded["tiers"][tier] = run_tier(TIERS[tier])
        print(json.dumps(recorded["tiers"][tier], indent=1), flush=True)
    recorded["tiers"] = {tier: recorded["tiers"][tier] for tier in TIERS if tier in recorded["tiers"]}
    recorded["manifest"] = manifest({"tiers": {t: TIERS[t] for t in recorded["tiers"]}})
    RESULTS.write_text(json.dumps(recorded, indent=1) + "\n", encoding="utf-8")
    return recorded


if __name__ == "__main__":
    run_cli(main)
