"""Which Mistral runs one lent GPU can train, and the YAML each trains with there.

A run is trained as its own YAML with only what one GPU and the carried files force changed;
each change is listed beside the run so the report says exactly what was measured. Runs that
need two GPUs (context parallel 2) are trained at world size 1 without DeepSpeed, the setup
`python -m plan` names as the lightest for every one of them; a run that would then train
exactly what another already trains is skipped, as are runs whose data or launcher cannot be
on the device. The order is the order of value: the one-GPU run first.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from plan.run_config import ROOT, Run, load_run

CONFIGS = ROOT / "axolotl_configs"
STEPS = 3
PROBE = "bench.gpu_day.probe.StepProbe"

# In the order they are trained; `same_as` marks a run identical to an earlier one at world size 1.
ORDER = ("mistral_snippet_1gpu", "mistral_truncate", "mistral_snippet_lora_bf16", "mistral_snippet_32k",
         "mistral_focus", "mistral_snippet_multi", "mistral_full")
SKIPPED = {
    "mistral_snippet": "at world size 1 without DeepSpeed it trains exactly mistral_snippet_1gpu",
    "mistral_summarise": "its data needs summaries written by a model (prep's summariser), which the device cannot call",
    "mistral_snippet_ray": "Ray does not travel (its wheel alone is over the 64 MiB limit); a one-worker Ray run "
                           "trains what mistral_snippet_1gpu trains",
}


@dataclass
class DeviceRun:
    name: str
    run: Run  # as committed
    cfg: dict  # as trained on the device
    changes: list[str]
    data: Path  # the carried slice it trains on


def rows_needed(run: Run) -> int:
    """The rows its STEPS steps train on at one data-parallel rank."""
    return run.micro_batch * run.accumulation * STEPS


def data_dir_name(run: Run) -> str:
    """The prepared data's folder name, as the run's header prepares it (data/prepared/NAME)."""
    return Path(run.cfg["datasets"][0]["path"]).parent.name


def device_config(run: Run, model: Path, data: Path, work: Path, cpu: bool) -> tuple[dict, list[str]]:
    """The run's YAML as trained on one device, and each change made, in words."""
    cfg, changes = copy.deepcopy(run.cfg), []
    if run.world_size > 1 or cfg.get("deepspeed") or run.context_parallel > 1:
        removed = [k for k in ("deepspeed", "context_parallel_size") if cfg.pop(k, None) is not None]
        changes.append(f"world size 1 without {' and '.join(removed)} (the plan's lightest setup; "
                       f"the run asks for {run.gpus} GPUs)")
    if cfg.get("attn_implementation") == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        cfg["attn_implementation"] = "sdpa"
        changes.append("attn_implementation sdpa: flash-attn does not travel (SDPA keeps what it keeps)")
    if cpu:
        cfg.update(bf16=False, tf32=False, gradient_accumulation_steps=1)
        changes.append("bf16 and tf32 off, 1 micro-batch a step: CPU dry run")
    cfg.pop("saves_per_epoch", None)
    cfg.update(base_model=str(model), max_steps=STEPS, save_strategy="no", dataset_prepared_path=str(work / "prepared"),
               output_dir=str(work / "adapter"), plugins=list(cfg.get("plugins") or []) + [PROBE])
    cfg["datasets"][0]["path"] = str(data / "train.jsonl")
    changes.append(f"{STEPS} steps on the {data_dir_name(run)} demo slice, random weights")
    return cfg, changes


def device_runs(model: Path, data_root: Path, work: Path, cpu: bool, only: list[str] | None = None) -> list[DeviceRun]:
    runs = []
    for name in only or ORDER:
        run = load_run(CONFIGS / f"{name}.yml")
        data = data_root / data_dir_name(run)
        cfg, changes = device_config(run, model, data, work / name, cpu)
        runs.append(DeviceRun(name, run, cfg, changes, data))
    return runs


def main(argv: list[str] | None = None) -> None:
    """Writes WORK/NAME/config.yml per run and WORK/runs.json (the list, the changes, the skipped)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="the carried data slices (.gpu_day/data)")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--only", nargs="+", choices=ORDER)
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args(argv)
    listing = {"runs": [], "skipped": dict(SKIPPED) if not args.only else {}}
    for device_run in device_runs(args.model.resolve(), args.data.resolve(), args.work.resolve(), args.cpu, args.only):
        folder = args.work / device_run.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.yml").write_text(yaml.safe_dump(device_run.cfg, sort_keys=False))
        listing["runs"].append({"name": device_run.name, "config": str(folder / "config.yml"),
                                "changes": device_run.changes})
        print(folder / "config.yml")
    (args.work / "runs.json").write_text(json.dumps(listing, indent=2) + "\n")


if __name__ == "__main__":
    main()
