"""What launching through Ray costs against accelerate, for the same training on this machine.

    make demo-data && python -m bench.ray_overhead --steps 6 --repeats 2

Trains the demo run for the same steps and the same 2 sequences per step, launched four ways:
- accelerate: `axolotl train` on smollm2_cpu.yml as the Makefile runs it: one process, 2
  accumulation; accelerate's launcher gives it OMP_NUM_THREADS=1 unless told otherwise;
- accelerate_2_threads: the same with OMP_NUM_THREADS=2, the machine's cores: the baseline;
- ray_1_worker: the baseline's layout through Ray (scripts/axolotl_ray_train.py on
  smollm2_cpu_ray.yml with one worker of 2 CPUs, which Ray gives 2 threads, and 2
  accumulation): the difference from the baseline is Ray's own cost;
- ray_2_workers: smollm2_cpu_ray.yml as it is: 2 workers x 1 CPU, gloo data parallel.
The Ray launches share a local cluster, started once beforehand and timed apart. Reported per
launch: wall time from the command to its exit (imports, model load, Ray's worker start-up
included) and time per step from the trainer's own train_runtime (start-up apart), with the 1-
and 5-minute load averages before and after, since the machine is shared. No launch saves
checkpoints. Launches go in turn, then in reverse order, so drift in the load falls on all
alike. Each finished launch is written to the results at once; a rerun with the same settings
skips what is done.
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

from core.manifest import manifest
from scripts.local_ray_cluster import ROOT, die_with_parent, launch, local_ray_cluster, node_env

CPUS = 2
ACCELERATE, RAY = "axolotl_configs/smollm2_cpu.yml", "axolotl_configs/smollm2_cpu_ray.yml"
# launcher: (config, changes to it, OMP_NUM_THREADS for accelerate's process)
LAUNCHERS = {
    "accelerate": (ACCELERATE, {}, None),
    "accelerate_2_threads": (ACCELERATE, {}, CPUS),
    "ray_1_worker": (RAY, {"ray_num_workers": 1, "resources_per_worker": {"CPU": CPUS},
                           "gradient_accumulation_steps": 2}, None),
    "ray_2_workers": (RAY, {}, None),
}
BASELINE = "accelerate_2_threads"
TRAIN_RUNTIME = re.compile(r"'train_runtime': '?([\d.]+)")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()[:2]]


def bench_config(launcher: str, steps: int, work: Path) -> Path:
    path, changes, _ = LAUNCHERS[launcher]
    config = yaml.safe_load((ROOT / path).read_text())
    config.update({"max_steps": steps, "save_strategy": "no", "output_dir": str(work / launcher / "adapter"), **changes})
    config.pop("save_steps", None)
    out = work / f"{launcher}.yml"
    out.write_text(yaml.safe_dump(config))
    return out


def axolotl(command: str, config: Path, log: Path, threads: int | None = None) -> subprocess.Popen:
    """`axolotl COMMAND CONFIG` as the Makefile runs it (accelerate's launch)."""
    env = node_env() | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
    with open(log, "w") as out:
        return subprocess.Popen([str(Path(sys.executable).parent / "axolotl"), command, str(config)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)


def run_once(launcher: str, config: Path, cluster, log: Path) -> dict:
    path, _, threads = LAUNCHERS[launcher]
    before, started = load(), time.perf_counter()
    process = launch(config, cluster, log) if path == RAY else axolotl("train", config, log, threads)
    returncode = process.wait()
    wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    runtime = TRAIN_RUNTIME.search(text)
    if returncode != 0 or not runtime:
        raise RuntimeError(f"{launcher} run failed ({returncode}):\n{text[-5000:]}")
    return {"launcher": launcher, "wall_s": round(wall, 1), "train_runtime_s": float(runtime.group(1)),
            "load_before": before, "load_after": load()}


def summary(results: dict) -> dict:
    """Mean wall time and time per step per launcher, and their ratios to the baseline's."""
    steps = results["settings"]["steps"]
    out = {}
    for name in LAUNCHERS:
        runs = [m for m in results["measurements"] if m["launcher"] == name]
        if runs:
            out[name] = {"wall_s": round(mean(m["wall_s"] for m in runs), 1),
                         "s_per_step": round(mean(m["train_runtime_s"] for m in runs) / steps, 2)}
    if BASELINE in out:
        for name, means in out.items():
            means["ratio_wall"] = round(means["wall_s"] / out[BASELINE]["wall_s"], 2)
            means["ratio_per_step"] = round(means["s_per_step"] / out[BASELINE]["s_per_step"], 2)
    return out


def markdown(results: dict) -> str:
    settings = results["settings"]
    rows = "\n".join(f"| {m['launcher']} | {m['wall_s']} | {m['train_runtime_s']} | "
                     f"{m['train_runtime_s'] / settings['steps']:.2f} | {m['load_before']} | {m['load_after']} |"
                     for m in results["measurements"])
    means = "\n".join(f"| {name} | {s['wall_s']} | {s.get('ratio_wall')} | {s['s_per_step']} | {s.get('ratio_per_step')} |"
                      for name, s in results["summary"].items())
    return f"""# Ray overhead: `--use-ray` against accelerate, CPU

Command: `python -m bench.ray_overhead --steps {settings['steps']} --repeats {settings['repeats']}`
Machine: {results['machine']}
Run: the demo LoRA run (SmolLM2-135M, 512 tokens), {settings['steps']} steps of 2 sequences, no checkpoints.
accelerate: `axolotl train` as the Makefile runs it (1 process; accelerate sets 1 thread).
accelerate_2_threads, the baseline: the same with OMP_NUM_THREADS=2. ray_1_worker: the baseline's
layout through Ray (1 worker x 2 CPUs, 2 threads, 2 accumulation). ray_2_workers:
smollm2_cpu_ray.yml, 2 workers x 1 CPU, gloo, 1 accumulation.
Ray cluster start-up (`ray start --head`, once, in no launch's wall time): {results.get('ray_cluster_start_s')} s.

| launcher | wall s | train_runtime s | s/step | load avg 1/5 min before | after |
|---|---|---|---|---|---|
{rows}

| launcher | wall time per launch (s) | / baseline | time per step, start-up apart (s) | / baseline |
|---|---|---|---|---|
{means}
"""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2, help="launches per launcher, in turn then in reverse")
    parser.add_argument("--out", type=Path, default=Path("bench/results/ray_overhead.json"))
    args = parser.parse_args(argv)
    settings = {"steps": args.steps, "repeats": args.repeats}
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    if results.get("settings") != settings:
        results = {"settings": settings, "measurements": []}
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, shared with other jobs"
    order = [name for i in range(args.repeats) for name in (list(LAUNCHERS) if i % 2 == 0 else list(LAUNCHERS)[::-1])]
    done = 0
    for measured, expected in zip(results["measurements"], order):
        if measured["launcher"] != expected:
            break
        done += 1
    del results["measurements"][done:]  # only a prefix of this order is resumed
    todo = order[done:]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        configs = {name: bench_config(name, args.steps, work) for name in LAUNCHERS}
        if axolotl("preprocess", configs["accelerate"], work / "preprocess.log").wait():  # untimed
            raise RuntimeError((work / "preprocess.log").read_text(errors="replace")[-5000:])
        cluster = None
        if any(LAUNCHERS[name][0] == RAY for name in todo):
            started = time.perf_counter()
            cluster = stack.enter_context(local_ray_cluster(num_cpus=CPUS, log_dir=work))
            results["ray_cluster_start_s"] = round(time.perf_counter() - started, 1)
        for i, name in enumerate(todo):
            results["measurements"].append({**run_once(name, configs[name], cluster, work / f"{name}_{i}.log"),
                                            "manifest": manifest({"launcher": name, "steps": args.steps})})
            args.out.write_text(json.dumps(results, indent=2) + "\n")
    results["summary"] = summary(results)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
