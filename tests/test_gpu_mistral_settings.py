"""mistral_snippet.yml's settings, trained for a few steps on a tiny Mistral-architecture model.

QLoRA NF4, rank-8 q/k/v LoRA, bf16, gradient checkpointing, ZeRO-3 with CPU offload and, with
two or more GPUs, context parallel size 2 over two processes: everything the real run does but
the 7B weights, on Mistral's own tokenizer and the run's own data (its header's prep.build on the
demo tables, the longest rows 3 steps train on). Also compares the plan's memory estimate with the
measured peak. Needs CUDA and bitsandbytes; flash-attn is used when installed (requirements-gpu.txt),
SDPA otherwise.

On the lent GPU (bench/gpu_day/run.sh) the tokenizer and data are the ones `bench.gpu_day.pack`
carried, since neither mistral-common nor prep's language detector travels, and DeepSpeed is not
installed: there the run trains on one process without `deepspeed` and `context_parallel_size`
(Axolotl 0.21's context parallelism runs on DeepSpeed Ulysses or its ringmaster plugin) and warns
that ZeRO-3 was not exercised.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
import warnings
from importlib.metadata import PackageNotFoundError, version

import pytest
import torch
import yaml

from bench.gpu_day.configs import STEPS  # the steps the demo slice has rows for
from bench.gpu_day.pack import demo_slice, mistral_tokenizer
from plan.architecture import architecture
from plan.data import read_samples
from plan.memory import GiB, estimate
from plan.run_config import ROOT, Run, load_run

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CONFIG = ROOT / "axolotl_configs" / "mistral_snippet.yml"
NOT_EXERCISED = ("ZeRO-3 with CPU offload not exercised: DeepSpeed is not installed, so the run trained on one "
                 "process without deepspeed and context_parallel_size")


def deepspeed_installed() -> bool:
    """The installed distribution: the repository's deepspeed/ folder of configs would pass an import."""
    try:
        return bool(version("deepspeed"))
    except PackageNotFoundError:
        return False


@pytest.fixture(scope="module")
def tiny_mistral(tmp_path_factory):
    """A randomly initialised 4-layer Mistral with Mistral-7B-Instruct-v0.2's tokenizer and chat template."""
    from transformers import AutoTokenizer, MistralConfig, MistralForCausalLM

    out = tmp_path_factory.mktemp("tiny-mistral")
    tokenizer = AutoTokenizer.from_pretrained(mistral_tokenizer())
    config = MistralConfig(hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=8,
                           num_key_value_heads=2, vocab_size=len(tokenizer), max_position_embeddings=8192,
                           sliding_window=None, bos_token_id=tokenizer.bos_token_id,
                           eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    MistralForCausalLM(config).to(torch.bfloat16).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_mistral):
    work = tmp_path_factory.mktemp("gpu-run")
    run = load_run(CONFIG)
    data = demo_slice(run, work / "prepared", tiny_mistral)
    cfg = run.cfg
    cfg.pop("saves_per_epoch")
    cfg.update(base_model=str(tiny_mistral), max_steps=STEPS, dataset_prepared_path=str(work / "axolotl"),
               output_dir=str(work / "adapter"))
    if deepspeed_installed():
        processes = min(torch.cuda.device_count(), 2)
        cfg.update(context_parallel_size=processes, deepspeed=str(ROOT / cfg["deepspeed"]))
    else:
        processes = 1
        del cfg["deepspeed"], cfg["context_parallel_size"]
        warnings.warn(NOT_EXERCISED)
    if importlib.util.find_spec("flash_attn") is None:
        cfg["attn_implementation"] = "sdpa"
    cfg["datasets"][0]["path"] = str(data)
    config = work / "mistral_snippet_tiny.yml"
    config.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    result = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
                             "-m", "axolotl.cli.train", str(config)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=1800)
    return {"work": work, "data": data, "cfg": cfg, "processes": processes, "result": result}


def logged(output: str, key: str) -> list[float]:
    """Values of `key` in the trainer's printed logs (transformers 5 prints floats quoted, as '1.234')."""
    return [float(v) for v in re.findall(rf"'{re.escape(key)}': '?([0-9.eE+-]+|nan|inf)", output)]


def test_runs_and_saves_the_adapter(trained):
    result = trained["result"]
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    losses = logged(result.stdout + result.stderr, "loss")
    assert len(losses) >= STEPS and all(math.isfinite(x) for x in losses)
    assert (trained["work"] / "adapter" / "adapter_model.safetensors").is_file()


def test_memory_estimate_within_factor_two_of_measured_peak(trained):
    result = trained["result"]
    assert result.returncode == 0
    measured = max(logged(result.stdout + result.stderr, "memory/max_allocated (GiB)"), default=0.0)
    cfg, processes = trained["cfg"], trained["processes"]
    run = Run(trained["work"] / "mistral_snippet_tiny.yml", cfg, [f"Hardware: {processes} x 80 GB GPU"])
    longest = max(m["n_tokens"] for m in read_samples(trained["data"]))
    tensors = estimate(run, architecture(cfg["base_model"]), longest).tensors / GiB  # as max_allocated counts
    assert measured > 0, "no peak memory in the trainer's logs"
    print(f"\npeak memory per GPU: measured {measured:.2f} GiB, estimated {tensors:.2f} GiB, "
          f"error {100 * (tensors - measured) / measured:+.0f}%")
    assert 0.5 <= tensors / measured <= 2.0
