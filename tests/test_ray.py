"""The Ray path on CPU: smollm2_cpu_ray.yml on a local cluster of 2 CPU workers (gloo).

One run, as a multi-node run would live it: a worker dies after the first checkpoint, the run
fails, the same command relaunched resumes from the last checkpoint and finishes; its adapter
is then scored by eval.predict and eval.score like any other run's. The cluster is stopped
whatever happens.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest
import yaml
from safetensors.torch import load_file

from core.jsonl import write_jsonl
from eval import predict, score
from prep import build
from scripts.local_ray_cluster import ROOT, launch, local_ray_cluster

pytestmark = pytest.mark.slow

MAX_STEPS = 3
RUN_TIMEOUT_S = 900
CHECKPOINT = re.compile(r"checkpoint-(\d+)$")


def checkpoints(output_dir: Path) -> list[int]:
    """Steps of the complete checkpoints (the trainer state is written last)."""
    return sorted(int(CHECKPOINT.search(p.name).group(1)) for p in output_dir.glob("checkpoint-*")
                  if (p / "trainer_state.json").is_file())


def train_workers(head_pid: int) -> list[psutil.Process]:
    """The Ray Train worker processes of the node (not their forked DataLoader workers); each one
    leads its own process group. Killing a worker alone leaves its DataLoader processes holding
    its connection to Ray, which then never sees the worker die and the run hangs."""
    def is_worker(process: psutil.Process) -> bool:
        try:
            return " ".join(process.cmdline()).startswith("ray::RayTrainWorker")
        except psutil.Error:  # gone meanwhile
            return False

    return [p for p in psutil.Process(head_pid).children(recursive=True) if is_worker(p) and not is_worker(p.parent())]


def wait(run, log: Path) -> str:
    run.wait(timeout=RUN_TIMEOUT_S)
    return log.read_text(errors="replace")


@pytest.fixture(scope="module")
def ray_run(tmp_path_factory, model_dir, demo_dir):
    work = tmp_path_factory.mktemp("ray")
    prepared = work / "prepared"
    build.main(["--messages", str(demo_dir / "messages.jsonl"), "--stances", str(demo_dir / "stances.jsonl"),
                "--tokenizer", str(model_dir), "--strategy", "focus", "--sequence-len", "512",
                "--over-budget", "error", "--split", "0.625,0.125,0.25", "--seed", "0", "--out", str(prepared)])
    config = yaml.safe_load((ROOT / "axolotl_configs" / "smollm2_cpu_ray.yml").read_text())
    output_dir = work / "adapter"
    config.update({"base_model": str(model_dir), "max_steps": MAX_STEPS, "warmup_steps": 0, "save_steps": 1,
                   "dataset_prepared_path": str(work / "axolotl"), "output_dir": str(output_dir)})
    config["datasets"][0]["path"] = str(prepared / "train.jsonl")
    config_path = work / "config.yml"
    config_path.write_text(yaml.safe_dump(config))

    with local_ray_cluster(num_cpus=config["ray_num_workers"], log_dir=work) as cluster:
        first = launch(config_path, cluster, work / "first.log")
        try:
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while not checkpoints(output_dir) and first.poll() is None and time.monotonic() < deadline:
                time.sleep(1)
            assert checkpoints(output_dir), (work / "first.log").read_text(errors="replace")[-5000:]
            killed = train_workers(cluster.head_pid)[-1]
            os.killpg(killed.pid, signal.SIGKILL)  # the worker with its DataLoader processes, as an OOM kill or lost node would
            first_log = wait(first, work / "first.log")
            adapter_after_failure = (output_dir / "adapter_model.safetensors").exists()
        finally:
            if first.poll() is None:
                first.kill()
        resumed_from = checkpoints(output_dir)[-1]
        second = launch(config_path, cluster, work / "second.log")
        try:
            second_log = wait(second, work / "second.log")
        finally:
            if second.poll() is None:
                second.kill()

    rows = predict.read_jsonl(prepared / "test.jsonl")
    one_conversation = [r for r in rows if r["meta"]["conversation_id"] == rows[0]["meta"]["conversation_id"]]
    write_jsonl(work / "test_subset.jsonl", one_conversation)  # the flow is under test, not the scores
    predictions = predict.main(["--model", str(model_dir), "--adapter", str(output_dir),
                                "--data", str(work / "test_subset.jsonl"), "--out", str(work / "predictions.jsonl")])
    metrics = score.main(["--predictions", str(work / "predictions.jsonl")])
    return {"output_dir": output_dir, "prepared": prepared, "first": first, "first_log": first_log,
            "adapter_after_failure": adapter_after_failure,
            "resumed_from": resumed_from, "second": second, "second_log": second_log,
            "rows": one_conversation, "predictions": predictions, "metrics": metrics}


def test_a_dead_worker_fails_the_run(ray_run):
    assert ray_run["first"].returncode != 0
    log = ray_run["first_log"]
    assert "WorkerGroupError: Training failed due to worker errors" in log
    assert "ActorDiedError: The actor died unexpectedly" in log
    assert not ray_run["adapter_after_failure"]  # the adapter is saved only at the end


def test_relaunch_resumes_from_the_last_checkpoint(ray_run):
    step, log = ray_run["resumed_from"], ray_run["second_log"]
    assert ray_run["second"].returncode == 0, log[-5000:]
    assert step < MAX_STEPS
    assert f"resume from checkpoint at {ray_run['output_dir'] / f'checkpoint-{step}'}" in log
    assert log.count("{'loss': ") == MAX_STEPS - step  # only the steps after the checkpoint were trained
    state = json.loads((ray_run["output_dir"] / f"checkpoint-{MAX_STEPS}" / "trainer_state.json").read_text())
    assert state["global_step"] == MAX_STEPS
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == list(range(1, MAX_STEPS + 1))


def test_two_workers_are_one_data_parallel_group(ray_run):
    """Each step consumes 2 different samples: the epoch advances by 2 / training samples per step."""
    samples = len(predict.read_jsonl(ray_run["prepared"] / "train.jsonl"))
    state = json.loads((ray_run["output_dir"] / f"checkpoint-{MAX_STEPS}" / "trainer_state.json").read_text())
    assert state["epoch"] == pytest.approx(MAX_STEPS * 2 / samples)


def test_the_adapter_is_trained_and_scored_like_any_run(ray_run):
    weights = load_file(ray_run["output_dir"] / "adapter_model.safetensors")
    lora_b = [tensor for name, tensor in weights.items() if "lora_B" in name]
    assert lora_b and all(tensor.abs().max() > 0 for tensor in lora_b)  # B starts at zero
    pairs = {(r["meta"]["statement_id"], r["meta"]["contributor"]) for r in ray_run["rows"]}
    assert {(p["statement_id"], p["contributor"]) for p in ray_run["predictions"]} == pairs
    assert ray_run["metrics"]["n"] == len(pairs)
    assert 0.0 <= ray_run["metrics"]["f1"] <= 1.0
