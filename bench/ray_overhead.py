"""What launching through Ray costs against accelerate, for the same training on this machine.

    make demo-data && python -m bench.ray_overhead --steps 6 --repeats 2

Trains the demo run for the same steps and the same 2 sequences per step, alternately:
- accelerate: `axolotl train` on smollm2_cpu.yml (one process, 2 CPU threads, 2 accumulation);
- ray: scripts/axolotl_ray_train.py on smollm2_cpu_ray.yml, on a local Ray cluster of 2 workers
  x 1 CPU (gloo data parallel, 1 accumulation), the cluster started once beforehand and timed apart.
Reported per launch: wall time from the command to its exit (imports, model load, Ray's worker
start-up included) and time per step from the trainer's own train_runtime (start-up excluded),
with the 1- and 5-minute load averages before and after, since the machine is shared. Neither run
saves checkpoints. Each finished launch is written to the results at once; a rerun with the same
settings skips what is done.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from statistics import mean

import yaml

from scripts.local_ray_cluster import ROOT, launch, local_ray_cluster, node_env

CONFIGS = {"accelerate": "axolotl_configs/smollm2_cpu.yml", "ray": "axolotl_configs/smollm2_cpu_ray.yml"}
TRAIN_RUNTIME = re.compile(r"'train_runtime': '?([\d.]+)")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()[:2]]


def bench_config(launcher: str, steps: int, work: Path) -> Path:
    config = yaml.safe_load((ROOT / CONFIGS[launcher]).read_text())
    config.update({"max_steps": steps, "save_strategy": "no", "output_dir": str(work / launcher / "adapter")})
    config.pop("save_steps", None)
    path = work / f"{launcher}.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def axolotl(command: str, config: Path, log: Path) -> subprocess.Popen:
    """`axolotl COMMAND CONFIG` as the Makefile runs it (accelerate's launch)."""
    with open(log, "w") as out:
        return subprocess.Popen([str(Path(sys.executable).parent / "axolotl"), command, str(config)],
                              cwd=ROOT, env=node_env(), stdout=out, stderr=subprocess.STDOUT)


def run_once(launcher: str, config: Path, cluster, log: Path) -> dict:
    before, started = load(), time.perf_counter()
    process = launch(config, cluster, log) if launcher == "ray" else axolotl("train", config, log)
    returncode = process.wait()
    wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    runtime = TRAIN_RUNTIME.search(text)
    if returncode != 0 or not runtime:
        raise RuntimeError(f"{launcher} run failed ({returncode}):\n{text[-5000:]}")
    return {"launcher": launcher, "wall_s": round(wall, 1), "train_runtime_s": float(runtime.group(1)),
            "load_before": before, "load_after": load()}


def summary(results: dict) -> dict:
    steps = results["settings"]["steps"]
    by = {name: [m for m in results["measurements"] if m["launcher"] == name] for name in CONFIGS}
    out = {name: {"wall_s": round(mean(m["wall_s"] for m in runs), 1),
                  "s_per_step": round(mean(m["train_runtime_s"] for m in runs) / steps, 2)}
           for name, runs in by.items() if runs}
    if len(out) == 2:
        out["ratio_wall"] = round(out["ray"]["wall_s"] / out["accelerate"]["wall_s"], 2)
        out["ratio_per_step"] = round(out["ray"]["s_per_step"] / out["accelerate"]["s_per_step"], 2)
    return out


def markdown(results: dict) -> str:
    settings, summ = results["settings"], results["summary"]
    rows = "\n".join(f"| {m['launcher']} | {m['wall_s']} | {m['train_runtime_s']} | "
                     f"{m['train_runtime_s'] / settings['steps']:.2f} | {m['load_before']} | {m['load_after']} |"
                     for m in results["measurements"])
    cluster = results.get("ray_cluster_start_s")
    return f"""# Ray overhead: `--use-ray` against accelerate, CPU

Command: `python -m bench.ray_overhead --steps {settings['steps']} --repeats {settings['repeats']}`
Machine: {results['machine']}
Run: the demo LoRA run (SmolLM2-135M, 512 tokens), {settings['steps']} steps of 2 sequences; accelerate:
1 process x 2 threads, 2 accumulation; Ray: 2 workers x 1 CPU, gloo, 1 accumulation. No checkpoints.
Ray cluster start-up (`ray start --head`, once, not in the runs' wall time): {cluster} s.

| launcher | wall s | train_runtime s | s/step | load avg 1/5 min before | after |
|---|---|---|---|---|---|
{rows}

| | accelerate | ray | ray / accelerate |
|---|---|---|---|
| wall time per launch (s) | {summ['accelerate']['wall_s']} | {summ['ray']['wall_s']} | {summ['ratio_wall']} |
| time per step, start-up apart (s) | {summ['accelerate']['s_per_step']} | {summ['ray']['s_per_step']} | {summ['ratio_per_step']} |
"""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2, help="launches per launcher, alternating")
    parser.add_argument("--out", type=Path, default=Path("bench/results/ray_overhead.json"))
    args = parser.parse_args(argv)
    settings = {"steps": args.steps, "repeats": args.repeats}
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    if results.get("settings") != settings:
        results = {"settings": settings, "measurements": []}
    results["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, shared"
    # A B B A ...: drift in the machine's load falls on both launchers alike.
    order = [("accelerate", "ray") if i % 2 == 0 else ("ray", "accelerate") for i in range(args.repeats)]
    todo = [name for pair in order for name in pair][len(results["measurements"]):]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        configs = {name: bench_config(name, args.steps, work) for name in CONFIGS}
        if axolotl("preprocess", configs["accelerate"], work / "preprocess.log").wait():  # untimed
            raise RuntimeError((work / "preprocess.log").read_text(errors="replace")[-5000:])
        cluster = None
        if "ray" in todo:
            started = time.perf_counter()
            cluster = stack.enter_context(local_ray_cluster(num_cpus=2, log_dir=work))
            results["ray_cluster_start_s"] = round(time.perf_counter() - started, 1)
        for i, name in enumerate(todo):
            results["measurements"].append(run_once(name, configs[name], cluster, work / f"{name}_{i}.log"))
            args.out.write_text(json.dumps(results, indent=2) + "\n")
    results["summary"] = summary(results)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
