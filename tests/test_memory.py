"""The memory estimate against measured peaks: every H200 point (plan/measured_h200.csv) and, on
CPU, tiny Mistral models in settings the H200 page does not cover, every allocation counted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from plan.architecture import KNOWN_ARCHITECTURES, Architecture
from plan.measured import MODEL, measured_run, rows
from plan.memory import ALLOCATOR_SLACK, CUDA_CONTEXT, GiB, estimate
from plan.run_config import Run

ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.mark.parametrize("row", rows(), ids=lambda r: f"{r['adapter']}-{int(r['sequence_tokens'])}-{r['loss']}")
def test_estimate_within_ten_percent_of_every_h200_peak(row):
    run = measured_run(row)
    result = estimate(run, KNOWN_ARCHITECTURES[MODEL], run.cfg["sequence_len"])
    error = result.tensors / GiB / row["peak_allocated_gib"] - 1
    print(f"\n{row['adapter']} {int(row['sequence_tokens'])} {row['loss']}: estimated {result.tensors / GiB:.2f} GiB, "
          f"measured {row['peak_allocated_gib']:.2f} GiB ({100 * error:+.1f}%), peak at the {result.phase}")
    assert abs(error) <= 0.10


def test_total_adds_context_and_slack_on_a_gpu_only():
    run = measured_run(rows()[0])
    gpu = estimate(run, KNOWN_ARCHITECTURES[MODEL], run.cfg["sequence_len"])
    activations = gpu.tensors - sum(size for name, size in gpu.parts if "weights" in name or "adapters" in name)
    assert gpu.total == pytest.approx(gpu.tensors + CUDA_CONTEXT + ALLOCATOR_SLACK * activations)
    run.header = ["Hardware: CPU"]
    cpu = estimate(run, KNOWN_ARCHITECTURES[MODEL], run.cfg["sequence_len"])
    assert cpu.total == cpu.tensors and cpu.context == cpu.slack == 0


def test_a_fused_loss_moves_the_peak_to_the_layer_backward():
    materialised, fused = (measured_run(row) for row in rows() if row["adapter"] == "qlora" and row["sequence_tokens"] == 32768)
    arch = KNOWN_ARCHITECTURES[MODEL]
    plain, liger = estimate(materialised, arch, 32768), estimate(fused, arch, 32768)
    assert plain.phase == "loss" and liger.phase == "layer backward"
    assert not any("logits: fp32" in name for name, _ in liger.parts)
    assert liger.tensors < plain.tensors


def peak_allocated(step) -> int:
    """Most bytes allocated at once while `step` runs: the profiler's CPU allocation events, summed in order."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"), key=lambda e: e.start_ns())
    running = peak = 0
    for event in events:
        running += event.nbytes()
        peak = max(peak, running)
    return peak


def measured_cpu_peak(model, micro_batch: int, sequence: int, vocab: int) -> int:
    """Held tensors (weights, adapters, Adam states) plus the peak of a second training step."""
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, vocab, (micro_batch, sequence))
    mask = torch.ones_like(ids)
    mask[1:, sequence // 2:] = 0  # right padding, as the collator pads the shorter rows of a micro-batch
    labels = torch.full_like(ids, -100)
    labels[:, -2:] = ids[:, -2:]  # an answer token and its end-of-turn, as prep's rows train

    def step():
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()

    step()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    held = [p for p in model.parameters()] + [b for b in model.buffers()]
    held += [v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
    for module in model.modules():  # bitsandbytes keeps NF4 block scales beside the packed weight
        state = getattr(getattr(module, "weight", None), "quant_state", None)
        if state is not None:
            held += [state.absmax, state.code, state.state2.absmax, state.state2.code]
    return sum(t.numel() * t.element_size() for t in held) + peak_allocated(step)


CPU_SETTINGS = {  # none of them on the H200 page
    "checkpointing off": {"checkpointing": False},
    "all linear, r=16, small vocabulary": {"targets": ALL_LINEAR, "rank": 16, "vocab": 256},
    "all linear, checkpointing off": {"targets": ALL_LINEAR, "checkpointing": False},
    "gate_proj + up_proj, small vocabulary": {"targets": ["gate_proj", "up_proj"], "vocab": 256},
    "o_proj + down_proj, r=64": {"targets": ["o_proj", "down_proj"], "rank": 64},
    "micro-batch 2, padded": {"micro_batch": 2},
    "micro-batch 2, checkpointing off": {"micro_batch": 2, "checkpointing": False},
    "fp32, no dropout, checkpointing off": {"dtype": torch.float32, "dropout": 0.0, "checkpointing": False},
    "eager attention, 512 tokens": {"attention": "eager", "sequence": 512, "vocab": 256},
    "longer, more layers": {"sequence": 512, "layers": 4, "vocab": 1024},
    "QLoRA NF4": {"qlora": True, "vocab": 256},
}


@pytest.mark.parametrize("name", CPU_SETTINGS)
def test_estimate_within_ten_percent_of_a_tiny_mistral_on_cpu(name, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import BitsAndBytesConfig, MistralConfig, MistralForCausalLM

    s = {"targets": ["q_proj", "k_proj", "v_proj"], "rank": 8, "dropout": 0.1, "checkpointing": True, "micro_batch": 1,
         "sequence": 256, "vocab": 2048, "layers": 3, "dtype": torch.bfloat16, "attention": "sdpa", "qlora": False,
         **CPU_SETTINGS[name]}
    config = MistralConfig(hidden_size=128, intermediate_size=448, num_hidden_layers=s["layers"], num_attention_heads=4,
                           num_key_value_heads=2, vocab_size=s["vocab"], sliding_window=None, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = MistralForCausalLM(config).to(s["dtype"])
    if s["qlora"]:
        model.save_pretrained(tmp_path)
        nf4 = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                 bnb_4bit_compute_dtype=torch.bfloat16)
        model = MistralForCausalLM.from_pretrained(tmp_path, quantization_config=nf4, device_map={"": "cpu"}, dtype=torch.bfloat16)
    model.config._attn_implementation = s["attention"]
    model = get_peft_model(model, LoraConfig(r=s["rank"], lora_alpha=16, lora_dropout=s["dropout"], target_modules=s["targets"]))
    if s["checkpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    measured = measured_cpu_peak(model, s["micro_batch"], s["sequence"], s["vocab"])

    cfg = {"adapter": "qlora" if s["qlora"] else "lora", "load_in_4bit": s["qlora"], "lora_r": s["rank"],
           "lora_dropout": s["dropout"], "lora_target_modules": s["targets"], "bf16": s["dtype"] == torch.bfloat16,
           "gradient_checkpointing": s["checkpointing"], "micro_batch_size": s["micro_batch"],
           "sequence_len": s["sequence"], "pad_to_sequence_len": True, "attn_implementation": s["attention"]}
    result = estimate(Run(Path("tiny.yml"), cfg, ["Hardware: CPU"]), Architecture.from_config(config.to_dict()), s["sequence"])
    print(f"\n{name}: estimated {result.tensors:,.0f} B, measured {measured:,} B "
          f"({100 * (result.tensors / measured - 1):+.1f}%), peak at the {result.phase}")
    assert abs(result.tensors / measured - 1) <= 0.10
