"""The CPU demo end to end (`make demo`), each stage timed: bench/results/demo.json.

    python -m bench.demo [--results bench/results/demo.json]
    python -m bench.demo --stages prep     # only the named stages (make demo-data), no results file

The stages are the path for one's own conversations (README, "Your own conversations") with the
synthetic demo set as the data: prepare, point the CPU recipe at the prepared folder, train a
LoRA adapter with Axolotl, answer dev and test zero-shot and with the adapter, score each with
its threshold tuned on dev, compare. The README's demo numbers are rendered from the results
file (`python -m bench.readme`), never typed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from core.cli import UserError, run_cli
from core.manifest import manifest

ROOT = Path(__file__).resolve().parent.parent
MODEL = "models/smollm2-135m-instruct"
DATA = "data/prepared/demo"
RECIPE = "axolotl_configs/smollm2_cpu.yml"
LORA, ZERO_SHOT = "runs/smollm2_cpu", "runs/smollm2_zero_shot"
RUNS = {"SmolLM2-135M zero-shot": ZERO_SHOT, "+ LoRA (axolotl train on CPU)": LORA}


def stages() -> list[tuple[str, list[str]]]:
    python, axolotl = [sys.executable, "-m"], str(Path(sys.executable).parent / "axolotl")
    scored = lambda run: python + ["eval.score", "--predictions", f"{run}/predictions.jsonl", "--tables", f"{DATA}/tables"]
    return [
        ("prep", python + ["prep.build", "--messages", "data/demo/messages.jsonl", "--stances", "data/demo/stances.jsonl",
                           "--tokenizer", MODEL, "--strategy", "focus", "--sequence-len", "512", "--over-budget", "error",
                           "--split", "0.625,0.125,0.25", "--seed", "0", "--out", DATA]),
        ("config", python + ["plan.config_for_data", RECIPE, "--data", DATA, "--out", LORA]),
        ("axolotl preprocess", [axolotl, "preprocess", f"{LORA}/axolotl.yml"]),
        ("axolotl train", [axolotl, "train", f"{LORA}/axolotl.yml"]),
        ("manifest", python + ["core.manifest", LORA, "--config", f"{LORA}/axolotl.yml", "--data", f"{DATA}/train.jsonl",
                               "--seed", "0"]),
        ("predict zero-shot", python + ["eval.predict", "--model", MODEL, "--data", DATA, "--out", ZERO_SHOT]),
        ("score zero-shot", scored(ZERO_SHOT)),
        ("predict LoRA", python + ["eval.predict", "--model", MODEL, "--adapter", f"{LORA}/adapter", "--data", DATA,
                                   "--out", LORA]),
        ("score LoRA", scored(LORA)),
        ("compare", python + ["eval.compare", ZERO_SHOT, LORA, "--out", f"{LORA}/compare"]),
    ]


def results(seconds: dict[str, float], load: list[float]) -> dict:
    """What the README shows: each run's headline with CIs, the comparison, each stage's wall time."""
    def metrics(run: str) -> dict:
        scored = json.loads((ROOT / run / "metrics.json").read_text(encoding="utf-8"))
        return {k: scored[k] for k in ("f1", "precision", "recall", "accuracy", "mcc", "n", "gold_yes", "ci",
                                        "threshold", "human_ceiling")}
    test = json.loads((ROOT / DATA / "prep_report.json").read_text(encoding="utf-8"))["splits"]["test"]
    return {"manifest": manifest({"stages": [command[2:] for _, command in stages()]}, [ROOT / DATA / "train.jsonl"], 0),
            "test_split": test, "runs": {name: metrics(run) for name, run in RUNS.items()},
            "compare": json.loads((ROOT / LORA / "compare" / "compare.json").read_text(encoding="utf-8")),
            "seconds": seconds, "total_seconds": round(sum(seconds.values()), 1),
            "load_average_max": max(load)}  # other work on the cores stretches every second above


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "demo.json")
    parser.add_argument("--stages", nargs="+", metavar="STAGE", help=f"only these: {', '.join(n for n, _ in stages())}")
    args = parser.parse_args(argv)
    unknown = set(args.stages or ()) - {name for name, _ in stages()}
    if unknown:
        raise UserError(f"unknown stage(s): {', '.join(sorted(unknown))}")
    seconds, load = {}, []
    for name, command in stages():
        if args.stages and name not in args.stages:
            continue
        print(f"== {name}: {' '.join(command[1:] if command[0] == sys.executable else command)}", flush=True)
        started = time.perf_counter()
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            raise UserError(f"demo stage '{name}' failed (its output is above)")
        seconds[name] = round(time.perf_counter() - started, 1)
        load.append(round(os.getloadavg()[0], 1))
    if args.stages:
        return {"seconds": seconds}
    record = results(seconds, load)
    args.results.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"demo done in {record['total_seconds']:.0f} s -> {args.results}")
    return record


if __name__ == "__main__":
    run_cli(main)
