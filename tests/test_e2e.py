"""End to end on CPU: demo set -> prep -> axolotl preprocess + train (2 steps) -> predict -> score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eval import predict, score
from plan import config_for_data
from prep import build

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # trains with Axolotl
SEQUENCE_LEN = 512


def run_axolotl(command: str, config: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)  # axolotl launches `accelerate` from PATH
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    result = subprocess.run([str(Path(bin_dir) / "axolotl"), command, str(config)], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"axolotl {command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, model_dir, demo_dir):
    work = tmp_path_factory.mktemp("e2e")
    prepared = work / "prepared"
    report = build.main([
        "--messages", str(demo_dir / "messages.jsonl"), "--stances", str(demo_dir / "stances.jsonl"),
        "--tokenizer", str(model_dir), "--strategy", "focus", "--sequence-len", str(SEQUENCE_LEN),
        "--over-budget", "exclude", "--split", "0.625,0.125,0.25", "--out", str(prepared)])

    config_path = config_for_data.main([str(ROOT / "axolotl_configs" / "smollm2_cpu.yml"), "--data", str(prepared),
                                        "--out", str(work)])
    config = yaml.safe_load(config_path.read_text())
    assert config["datasets"][0]["path"] == str(prepared / "train.jsonl") and config["sequence_len"] == SEQUENCE_LEN
    config.update({"base_model": str(model_dir), "max_steps": 2, "gradient_accumulation_steps": 1, "warmup_steps": 0})
    config_path.write_text(yaml.safe_dump(config))
    run_axolotl("preprocess", config_path)
    run_axolotl("train", config_path)

    rows = predict.read_jsonl(prepared / "test.jsonl")
    tokenizer, base = predict.load_model(str(model_dir))
    zero_shot = predict.predict(tokenizer, base, rows)
    tokenizer, tuned = predict.load_model(str(model_dir), str(work / "adapter"))
    adapted = predict.predict(tokenizer, tuned, rows)
    return {"work": work, "prepared": prepared, "report": report, "config": config,
            "rows": rows, "zero_shot": zero_shot, "adapted": adapted}


def axolotl_dataset(pipeline):
    from datasets import load_from_disk

    folders = [p for p in Path(pipeline["config"]["dataset_prepared_path"]).iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return load_from_disk(str(folders[0]))


def test_prep_report_accounts_for_every_stance(pipeline):
    report = pipeline["report"]
    written = sum(split["samples"] for split in report["splits"].values())
    excluded = sum(1 for item in report["exclusions"]["items"] if item["reason"] in ("over_budget", "unknown_contributor", "no_gold_label"))
    assert written > 0
    assert written + excluded == report["input"]["stances"]
    assert all(split["tokens"].get("max", 0) <= SEQUENCE_LEN for split in report["splits"].values())


def test_only_answer_tokens_carry_labels(pipeline, model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    train_rows = predict.read_jsonl(pipeline["prepared"] / "train.jsonl")
    dataset = axolotl_dataset(pipeline)
    assert len(dataset) == len(train_rows)  # nothing dropped by Axolotl
    expected = sorted(row["meta"]["n_tokens"] for row in train_rows)
    assert sorted(len(ids) for ids in dataset["input_ids"]) == expected  # prep's count is Axolotl's count
    answers = sorted(row["meta"]["label"] for row in train_rows)
    trained = []
    for ids, labels in zip(dataset["input_ids"], dataset["labels"]):
        positions = [i for i, label in enumerate(labels) if label != -100]
        assert positions == list(range(positions[0], positions[-1] + 1)), "labels must be one contiguous span"
        assert [ids[i] for i in positions] == [labels[i] for i in positions]
        text = tokenizer.decode([ids[i] for i in positions])
        assert text.endswith(tokenizer.eos_token)
        trained.append(text.removesuffix(tokenizer.eos_token))
    assert sorted(trained) == answers


def test_adapter_was_trained_and_changes_scores(pipeline):
    adapter = pipeline["work"] / "adapter"
    assert (adapter / "adapter_model.safetensors").exists()
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == pipeline["config"]["lora_r"]
    differences = [abs(a["p_yes"] - z["p_yes"]) for a, z in zip(pipeline["adapted"], pipeline["zero_shot"])]
    assert max(differences) > 1e-4


def test_predictions_cover_every_pair(pipeline):
    pairs = {(r["meta"]["conversation_id"], r["meta"]["statement_id"], r["meta"]["contributor"]) for r in pipeline["rows"]}
    for predictions in (pipeline["zero_shot"], pipeline["adapted"]):
        assert {(p["conversation_id"], p["statement_id"], p["contributor"]) for p in predictions} == pairs
        assert len(predictions) == len(pairs)
        assert all(0.0 <= p["p_yes"] <= 1.0 and p["prediction"] in ("yes", "no") for p in predictions)


def test_metrics_of_the_run_are_consistent(pipeline):
    metrics = score.score(pipeline["adapted"])
    gold_yes = sum(p["gold"] == "yes" for p in pipeline["adapted"])
    assert metrics["n"] == len(pipeline["rows"]) and metrics["gold_yes"] == gold_yes
    assert 0.0 <= metrics["f1"] <= 1.0
