"""The H200 measurements (measured_h200.csv) and the runs they measured, as the plan reads runs."""

from __future__ import annotations

import csv
from pathlib import Path

from plan.run_config import Run

TABLE = Path(__file__).with_name("measured_h200.csv")
MODEL = "mistralai/Mistral-7B-Instruct-v0.2"


def rows() -> list[dict]:
    with open(TABLE, encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return [{key: (value if key in ("adapter", "loss") else float(value) if value else None) for key, value in row.items()}
            for row in csv.DictReader(lines)]


def measured_run(row: dict) -> Run:
    """One measured setting as a one-GPU run YAML without DeepSpeed."""
    cfg = {"base_model": MODEL, "adapter": row["adapter"], "load_in_4bit": row["adapter"] == "qlora",
           "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "lora_target_modules": ["q_proj", "k_proj", "v_proj"],
           "bf16": True, "attn_implementation": "sdpa", "gradient_checkpointing": True, "micro_batch_size": 1,
           "gradient_accumulation_steps": 1, "sequence_len": int(row["sequence_tokens"])}
    if row["loss"] != "materialised":
        cfg[row["loss"]] = True
    return Run(Path(f"measured_{row['adapter']}_{int(row['sequence_tokens'])}.yml"), cfg, ["Hardware: 1 x 141 GB GPU"])
