"""bench/gpu_day: the pack step's wheel slimming and size limit, the device YAMLs, where the GPU settings test finds
its tokenizer and data, and a CPU dry run of the device command (a tiny Mistral with the real tokenizer,
mistral_snippet_1gpu, 3 steps)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

from bench.gpu_day import pack
from bench.gpu_day.configs import CONFIGS, ORDER, PROBE, SKIPPED, STEPS, device_runs, rows_needed
from plan.run_config import ROOT, load_run


def test_bitsandbytes_keeps_only_the_device_cuda_library(tmp_path):
    wheel = tmp_path / "bitsandbytes-0.50.2-py3-none-manylinux_2_24_x86_64.whl"
    libraries = ["cuda118", "cuda130", "cuda132", "rocm72", "cpu"]
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("bitsandbytes/__init__.py", "")
        for name in libraries:
            archive.writestr(f"bitsandbytes/libbitsandbytes_{name}.so", b"\0" * 1000)
        record = "".join(f"bitsandbytes/libbitsandbytes_{n}.so,sha256=x,1000\n" for n in libraries)
        archive.writestr("bitsandbytes-0.50.2.dist-info/RECORD", "bitsandbytes/__init__.py,,\n" + record)
    pack.slim_bitsandbytes(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        kept = sorted(n for n in archive.namelist() if n.endswith(".so"))
        record = archive.read("bitsandbytes-0.50.2.dist-info/RECORD").decode()
    assert kept == ["bitsandbytes/libbitsandbytes_cpu.so", f"bitsandbytes/libbitsandbytes_cuda{pack.DEVICE_CUDA}.so"]
    assert "cuda118" not in record and "rocm72" not in record and f"cuda{pack.DEVICE_CUDA}.so" in record


def test_size_check_fails_with_the_total_and_what_to_drop(tmp_path):
    (tmp_path / "wheels").mkdir()
    with open(tmp_path / "wheels" / "big-1.0-py3-none-any.whl", "wb") as handle:
        handle.truncate(pack.LIMIT)  # alone at the limit: the tree pushes it over
    (tmp_path / "wheels" / "small-1.0-py3-none-any.whl").write_bytes(b"\0" * 1000)
    with pytest.raises(SystemExit) as stop:
        pack.size_check(tmp_path)
    message = str(stop.value)
    assert "over the 64 MiB limit" in message and "drop wheels/big-1.0-py3-none-any.whl" in message
    assert "small" not in message
    (tmp_path / "wheels" / "big-1.0-py3-none-any.whl").unlink()
    assert pack.size_check(tmp_path)["total_bytes"] == pack.tree_bytes() + 1000


def test_every_mistral_run_is_trained_or_skipped_with_a_reason():
    committed = {path.stem for path in CONFIGS.glob("mistral_*.yml")}
    assert committed == set(ORDER) | set(SKIPPED)
    assert ORDER[0] == "mistral_snippet_1gpu"


def test_device_yamls_change_only_what_one_gpu_forces(tmp_path):
    for run in device_runs(tmp_path / "model", tmp_path / "data", tmp_path / "work", cpu=False):
        cfg, original = run.cfg, run.run.cfg
        assert "deepspeed" not in cfg and "context_parallel_size" not in cfg
        assert cfg["max_steps"] == STEPS and cfg["plugins"][-1] == PROBE
        assert cfg["datasets"][0]["path"] == str(tmp_path / "data" / run.data.name / "train.jsonl")
        assert any("world size 1" in c for c in run.changes) == (run.run.gpus > 1)
        for key in ("adapter", "load_in_4bit", "lora_r", "lora_target_modules", "sequence_len", "micro_batch_size",
                    "gradient_accumulation_steps", "gradient_checkpointing", "bf16", "liger_fused_linear_cross_entropy"):
            assert cfg.get(key) == original.get(key), (run.name, key)
    liger = next(r for r in device_runs(tmp_path, tmp_path, tmp_path, cpu=False) if r.name == "mistral_snippet_32k")
    assert liger.cfg["plugins"] == ["axolotl.integrations.liger.LigerPlugin", PROBE]


def test_settings_test_inputs_are_the_packed_ones_where_they_cannot_be_made(tmp_path, monkeypatch):
    """tests/test_gpu_mistral_settings.py's tokenizer and data: the pack's on the device, made here otherwise."""
    from prep.mistral_tokenizer import COMPLETE_MARKER, DEFAULT_DIR

    monkeypatch.setattr(pack, "PACK", tmp_path / "pack")
    made = pack.mistral_tokenizer()  # nothing packed: made from mistral-common
    assert made == ROOT / DEFAULT_DIR and (made / COMPLETE_MARKER).is_file()
    shutil.copytree(made, tmp_path / "pack" / "tokenizer")
    assert pack.mistral_tokenizer() == tmp_path / "pack" / "tokenizer"

    run = load_run(CONFIGS / "mistral_snippet.yml")
    built = pack.demo_slice(run, tmp_path / "built", made)  # lingua is here: prep.build, as the pack runs it
    lengths = [json.loads(line)["meta"]["n_tokens"] for line in built.read_text().splitlines()]
    assert built.parent.name == "mistral-snippets" and len(lengths) == rows_needed(run) == 24
    assert lengths == sorted(lengths, reverse=True)
    assert json.loads((built.parent / "prep_report.json").read_text())["settings"]["strategy"] == "snippets"

    monkeypatch.setattr(pack, "prep_runs_here", lambda: False)  # the device: no lingua
    with pytest.raises(FileNotFoundError, match="no lingua"):
        pack.demo_slice(run, tmp_path / "unused", made)
    shutil.copytree(built.parent, tmp_path / "pack" / "data" / "mistral-snippets")
    assert pack.demo_slice(run, tmp_path / "unused", made) == tmp_path / "pack" / "data" / "mistral-snippets" / "train.jsonl"
    assert not (tmp_path / "unused").exists()


@pytest.mark.slow
def test_dry_run_of_the_device_command(tmp_path):
    """pack (tokenizer and data, no wheels), then run.sh --dry-run: about 2 minutes on 2 quiet cores."""
    env = {**os.environ, "OUT": str(tmp_path / "out"), "GPU_DAY_WORK": str(tmp_path / "work"), "PYTHON": sys.executable,
           "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "bench.gpu_day.pack", "--no-wheels", "--only", ORDER[0]], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    result = subprocess.run(["bash", "bench/gpu_day/run.sh", "--dry-run"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads((tmp_path / "out" / "gpu.json").read_text())
    (run,) = report["runs"]
    measured, planned = run["measured"], run["plan"]
    assert run["name"] == ORDER[0] and measured["exit"] == 0
    assert len(measured["step_seconds"]) == STEPS and all(s > 0 for s in measured["step_seconds"])
    assert len(measured["losses"]) == STEPS and all(math.isfinite(x) for x in measured["losses"])
    cfg = yaml.safe_load(open(run["config"]))
    assert (tmp_path / "work" / "runs" / ORDER[0] / "adapter" / "adapter_model.safetensors").is_file()
    assert cfg["adapter"] == "qlora" and cfg["load_in_4bit"] is True
    assert planned["longest_tokens"] > 0 and planned["tensors_gib"] > 0
    assert report["settings_test"]["status"]  # run or not, with its reason
    text = (tmp_path / "out" / "gpu.md").read_text()
    assert f"| {ORDER[0]} | {planned['longest_tokens']:,} |" in text
