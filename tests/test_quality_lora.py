"""bench.quality writes each LoRA run's recipe: the committed one, the prep's budget, the run's own keys."""

from __future__ import annotations

import yaml

from bench import quality
from core.jsonl import read_jsonl, write_jsonl


def recipe(tmp_path, name: str, quick: bool = False) -> dict:
    run_dir = tmp_path / name
    run_dir.mkdir()
    return yaml.safe_load(quality.lora_config("iac", tmp_path, run_dir, quick, 0, quality.RUN_BY_NAME[name]).read_text())


def test_a_lora_run_gets_its_budget_its_overrides_and_a_half_yes_sample(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"messages": [], "meta": {"label": "yes" if i % 5 == 0 else "no"}}
                                           for i in range(400)])  # 20% "yes", as on IAC
    config, run = recipe(tmp_path, "smollm2-lora-focus-8192"), quality.RUN_BY_NAME["smollm2-lora-focus-8192"]
    committed = yaml.safe_load(quality.LORA_CONFIG.read_text())
    assert config["sequence_len"] == 8192 and config["gradient_checkpointing"] is True
    assert config["micro_batch_size"] * config["gradient_accumulation_steps"] == 4  # as many contexts a step
    own = {"sequence_len", "datasets", "dataset_prepared_path", "output_dir", *(o.split("=")[0] for o in run.overrides)}
    assert {k: v for k, v in config.items() if k not in own} == {k: v for k, v in committed.items() if k not in own}
    labels = [row["meta"]["label"] for row in read_jsonl(tmp_path / run.name / "train.jsonl")]
    assert len(labels) == config["max_steps"] * 4 and labels.count("yes") == len(labels) // 2
    quick = recipe(tmp_path, "smollm2-lora-focus", quick=True)
    assert (quick["sequence_len"], quick["max_steps"], quick["gradient_checkpointing"]) == (2048, 2, False)
