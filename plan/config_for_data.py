"""A committed Axolotl recipe pointed at one's own prepared data: RUN_DIR/axolotl.yml.

    python -m plan.config_for_data axolotl_configs/smollm2_cpu.yml --data data/prepared/mine --out runs/mine
    axolotl train runs/mine/axolotl.yml

The recipe keeps every training setting; the data path, Axolotl's tokenized cache, the adapter's
folder and sequence_len (prep fits every row into the one its report records) come from the
prepared folder. A recipe trained on one file of the folder keeps that file's name (train.jsonl).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from core.cli import UserError, run_cli
from plan.run_config import ROOT


def retarget(config: dict, data: Path, run_dir: Path) -> dict:
    report_path = data / "prep_report.json"
    if not report_path.is_file():
        raise UserError(f"{data}: no prep_report.json (a folder that prep.build wrote)")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    config = {**config, "datasets": [{**d, "path": str(data / Path(d["path"]).name)} for d in config["datasets"]]}
    missing = [d["path"] for d in config["datasets"] if not Path(d["path"]).is_file()]
    if missing:
        raise UserError(f"{data}: no {', '.join(Path(m).name for m in missing)}")
    config["sequence_len"] = report["settings"]["sequence_len"]
    config["dataset_prepared_path"] = str(data / "axolotl")
    config["output_dir"] = str(run_dir / "adapter")
    return config


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="a recipe in axolotl_configs/")
    parser.add_argument("--data", required=True, type=Path, help="prep.build output folder")
    parser.add_argument("--out", required=True, type=Path, help="run folder: axolotl.yml here, the adapter in adapter/")
    args = parser.parse_args(argv)
    if not args.config.is_file():
        raise UserError(f"{args.config}: file not found")
    config = retarget(yaml.safe_load(args.config.read_text(encoding="utf-8")), args.data, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "axolotl.yml"
    recipe = args.config.resolve().relative_to(ROOT) if args.config.resolve().is_relative_to(ROOT) else args.config
    path.write_text(f"# axolotl train {path}\n# {recipe} on {args.data} (python -m plan.config_for_data)\n\n"
                    + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    print(path)
    return path


if __name__ == "__main__":
    run_cli(main)
