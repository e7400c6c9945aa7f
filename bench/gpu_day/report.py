"""gpu.md and gpu.json: each run's measured peaks and step seconds beside `python -m plan`'s estimate.

    python -m bench.gpu_day.report --work /tmp/gpu_day --out $OUT
    python -m bench.gpu_day.report --versions /tmp/gpu_day/versions.json   # import the stack, record versions

The estimate is the plan's (`plan.memory.estimate`, what `python -m plan` prints) for the YAML
that was trained, on one 141 GB GPU, for the longest row of the data it trained on; the
predicted step is the plan's FLOP model on an H200 for those rows. Measured: the probe's
`max_memory_allocated` (what the estimate's tensors count) and `max_memory_reserved`, and the
median of steps 2 and 3 (step 1 carries one-time kernel set-up). A run not trained says why.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

from core.manifest import manifest
from plan.architecture import architecture
from plan.data import read_samples
from plan.gpus import by_size
from plan.memory import GiB, estimate
from plan.run_config import ROOT, Run
from plan.setups import epoch_seconds

PACKAGES = ("torch", "transformers", "peft", "accelerate", "axolotl", "bitsandbytes", "liger-kernel", "datasets", "trl",
            "tokenizers", "deepspeed")
H200 = by_size(141)


def versions() -> dict:
    """Imports what a training run imports (a missing wheel fails here, before any model is built)."""
    import torch

    import axolotl.cli.train  # noqa: F401

    found = {"python": platform.python_version(), "device": torch.cuda.get_device_name() if torch.cuda.is_available()
             else "cpu", "cuda": torch.version.cuda}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def planned(cfg: dict, config: Path, data: Path, gpu: bool) -> dict:
    """The plan's peak and step time for this YAML and the longest of the rows it trained on."""
    run = Run(config, cfg, ["Hardware: 1 x 141 GB GPU" if gpu else "Hardware: CPU"])
    arch = architecture(cfg["base_model"])
    lengths = [meta["n_tokens"] for meta in read_samples(data)]
    result = estimate(run, arch, max(lengths))
    steps = len(lengths) // (run.micro_batch * run.accumulation)
    return {"longest_tokens": max(lengths), "tensors_gib": result.tensors / GiB, "total_gib": result.total / GiB,
            "peak_phase": result.phase, "h200_step_seconds": epoch_seconds(run, arch, lengths, H200) / steps}


def measured(folder: Path) -> dict:
    rc = folder / "rc"
    out = {"exit": int(rc.read_text()) if rc.is_file() else None}
    probe = folder / "probe.json"
    if probe.is_file():
        found = json.loads(probe.read_text())
        steps = found["step_seconds"]
        out.update(found, step_seconds_median=statistics.median(steps[1:] or steps) if steps else None)
    elif out["exit"] not in (None, 0):
        log = (folder / "train.log").read_text(errors="replace").strip().splitlines()
        out["error"] = next((line for line in reversed(log) if "Error" in line), log[-1] if log else "")[:300]
    return out


def collect(work: Path) -> dict:
    listing = json.loads((work / "runs" / "runs.json").read_text())
    found = json.loads((work / "versions.json").read_text())
    gpu = found["device"] != "cpu"
    runs = []
    for entry in listing["runs"]:
        config = Path(entry["config"])
        cfg = yaml.safe_load(config.read_text())
        runs.append({**entry, "plan_data": cfg["datasets"][0]["path"], "measured": measured(config.parent),
                     "plan": planned(cfg, config, Path(cfg["datasets"][0]["path"]), gpu)})
    settings = work / "settings_test.json"
    packed = ROOT / ".gpu_day" / "manifest.json"  # the commit packed, where the tree that ran has no .git
    return {"manifest": {**manifest(data=sorted(Path(r["plan_data"]) for r in runs)),
                         "packed_commit": json.loads(packed.read_text())["commit"] if packed.is_file() else None},
            "versions": found, "runs": runs, "skipped": listing["skipped"],
            "settings_test": json.loads(settings.read_text()) if settings.is_file() else None}


def number(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(result: dict) -> str:
    v = result["versions"]
    lines = ["# Mistral-7B-shaped runs through `axolotl train` on one device, against the plan", "",
             f"Device: {v['device']} (CUDA {v['cuda']}), Python {v['python']}; "
             + ", ".join(f"{k} {v[k]}" for k in PACKAGES if v.get(k)) + ".",
             "Random weights, the demo data prepared with Mistral's tokenizer (the longest rows), 3 steps "
             "per run. Measured: peak `max_memory_allocated` / `max_memory_reserved` and the median of steps 2-3; "
             "plan: `plan.memory.estimate` (tensors, and the total with CUDA context and allocator slack) for the "
             "longest row, and the FLOP model's H200 step.", "",
             "| run | longest row, tokens | peak allocated GiB | plan tensors GiB | error | peak reserved GiB "
             "| plan total GiB | step s | plan H200 step s | exit |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for run in result["runs"]:
        m, p = run["measured"], run["plan"]
        peak = m.get("peak_allocated_gib")
        error = f"{100 * (p['tensors_gib'] - peak) / peak:+.1f}%" if peak else "-"
        lines.append(f"| {run['name']} | {p['longest_tokens']:,} | {number(peak)} | {number(p['tensors_gib'])} | {error} "
                     f"| {number(m.get('peak_reserved_gib'))} | {number(p['total_gib'])} "
                     f"| {number(m.get('step_seconds_median'), 3)} | {number(p['h200_step_seconds'], 3)} "
                     f"| {'not run' if m['exit'] is None else m['exit']} |")
    lines += ["", "What each run changed from its YAML:", ""]
    lines += [f"- {run['name']}: {'; '.join(run['changes'])}" for run in result["runs"]]
    failed = [run for run in result["runs"] if run["measured"].get("error")]
    if failed:
        lines += ["", "Failures:", ""] + [f"- {run['name']}: `{run['measured']['error']}`" for run in failed]
    if result["skipped"]:
        lines += ["", "Not trained:", ""] + [f"- {name}: {why}" for name, why in result["skipped"].items()]
    settings = result["settings_test"]
    if settings:
        lines += ["", f"`tests/test_gpu_mistral_settings.py`: {settings['status']}"
                  + (f", needs {settings['needs']}" if settings.get("needs") else "")
                  + (f": {settings['summary']}" if settings.get("summary") else "")
                  + (f". {settings['note']}" if settings.get("note") else "")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--versions", type=Path, help="import the training stack and write its versions here")
    args = parser.parse_args(argv)
    if args.versions:
        found = versions()
        args.versions.write_text(json.dumps(found, indent=2) + "\n")
        print(", ".join(f"{k} {v}" for k, v in found.items()))
        return
    if not (args.work and args.out):
        parser.error("--work and --out, or --versions")
    result = collect(args.work)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "gpu.md").write_text(markdown(result))


if __name__ == "__main__":
    main()
