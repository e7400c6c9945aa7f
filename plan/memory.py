"""Peak memory per device of a LoRA / QLoRA run, estimated without loading the model.

Weights in their dtype or quantisation, the adapters and their optimizer states, how
DeepSpeed partitions and offloads each, and the activations of the longest micro-batch
(`plan.activations`). `Estimate.tensors` is what `torch.cuda.max_memory_allocated` counts;
`Estimate.total` adds what a GPU needs beyond it (CUDA context, the caching allocator's slack).
Every simplification is in ASSUMPTIONS and printed with the estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from plan.activations import FUSED_LOSSES, Step, phases
from plan.architecture import PROJECTIONS, Architecture
from plan.run_config import Run

GiB = 1024**3

# NF4 with double quantisation (Axolotl's QLoRA default): 4-bit codes, one 8-bit absmax per
# 64 weights, one fp32 scale per 256 absmax values.
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)
INT8_BYTES = 1.0  # LLM.int8 codes; the per-row scales are negligible

CUDA_CONTEXT = 1.0 * GiB  # CUDA context, cuBLAS/cuDNN workspaces, NCCL and DeepSpeed buffers: not in max_memory_allocated
# torch.cuda.max_memory_reserved - max_memory_allocated on the H200 page (plan/measured_h200.csv):
# 37-39% of the activation peak at every length, LoRA and QLoRA alike.
ALLOCATOR_SLACK = 0.4

ASSUMPTIONS = (
    "Weights: decoder linears in NF4 (0.516 bytes/param) for QLoRA, int8 for 8-bit, else in the "
    "training dtype; embeddings, output head and norms stay in the training dtype (Axolotl casts them "
    "back after k-bit preparation).",
    "Adapters in fp32 (peft's autocast_adapter_dtype). Without DeepSpeed 16 bytes per trainable "
    "parameter on the device (fp32 weight, gradient, Adam m, v; 12 without gradient accumulation, "
    "as the gradients are made during the backward, after the peak); under DeepSpeed 4 bytes on the GPU "
    "(bf16 weight and gradient) plus 16 with the optimizer (fp32 master, gradient, m, v), on CPU when "
    "the optimizer is offloaded.",
    "ZeRO-3 partitions weights, gradients and optimizer states over all ranks (context-parallel ranks "
    "included); with parameter offload only the gathered working set is on the GPU: the largest unit "
    "(a decoder layer, the embedding or the output head) twice, in use and prefetched.",
    "Activations for the longest micro-batch after padding, split by the context-parallel size, as "
    "autograd keeps them (plan/activations.py): with gradient checkpointing each layer's input plus "
    "one layer recomputed; frozen linears keep nothing of their input; each LoRA adapter keeps its "
    "fp32 input after dropout and the dropout mask; RMSNorm its fp32 input; SDPA and flash attention "
    "q, k, v, output and log-sum-exp (no sequence x sequence matrix); the MLP its three "
    "intermediate-width tensors. Eager attention keeps the probabilities in fp32 and the compute dtype.",
    "Materialised logits: cross-entropy's fp32 log-softmax and, in its backward, the gradient in and "
    "out (12 bytes per token per vocabulary entry); the bf16 logits are freed before the backward "
    "(the trainer drops the model output). A fused loss (cut cross-entropy, Liger) keeps no logits.",
    "The peak is the larger of the loss and the top layer's backward; QLoRA adds one dequantised "
    "linear (the largest) to the backward.",
    "GPU runs add the CUDA context, workspaces and NCCL/DeepSpeed buffers (1 GiB) and the caching "
    "allocator's slack (40% of the activation peak, as measured); a CPU run counts tensors only.",
)


def lora_targets(cfg: dict) -> list[str]:
    targets = PROJECTIONS if cfg.get("lora_target_linear") else cfg.get("lora_target_modules") or []
    unknown = sorted(set(targets) - set(PROJECTIONS))
    if unknown:
        raise ValueError(f"lora_target_modules {unknown}: the estimate knows only {list(PROJECTIONS)}")
    return list(targets)


def trainable_parameters(arch: Architecture, cfg: dict) -> int:
    """rank x (in + out) per targeted projection per layer, plus whole modules_to_save copies."""
    if cfg.get("adapter") not in ("lora", "qlora"):
        raise ValueError("the estimate covers LoRA and QLoRA runs (adapter: lora | qlora)")
    shapes = arch.linear_shapes()
    lora = arch.layers * sum(cfg["lora_r"] * sum(shapes[name]) for name in lora_targets(cfg))
    saved = sum(arch.vocab * arch.hidden for name in cfg.get("lora_modules_to_save") or []
                if name in ("embed_tokens", "lm_head"))
    return lora + saved


def padded_length(run: Run, longest: int) -> int:
    """Length of the longest micro-batch as Axolotl's collator pads it."""
    cfg = run.cfg
    multiple = cfg.get("pad_to_multiple_of") or 64
    if cfg.get("sample_packing") or cfg.get("pad_to_sequence_len"):
        return multiple * math.ceil(cfg["sequence_len"] / multiple)
    if cfg.get("pad_to_sequence_len") is False:
        return longest
    return multiple * math.ceil(longest / multiple)


def compute_dtype_bytes(cfg: dict) -> int:
    return 2 if cfg.get("bf16") or cfg.get("fp16") else 4


def training_step(run: Run, longest: int) -> Step:
    """What autograd will keep for this run's longest micro-batch."""
    cfg = run.cfg
    loss = next((name for name in FUSED_LOSSES if cfg.get(name)), "materialised")
    return Step(dtype=compute_dtype_bytes(cfg), cuda=bool(run.gpus), targets=frozenset(lora_targets(cfg)),
                rank=cfg["lora_r"], dropout=bool(cfg.get("lora_dropout")),
                checkpointing=bool(cfg.get("gradient_checkpointing")),
                attention=cfg.get("attn_implementation") or "sdpa", loss=loss, micro_batch=run.micro_batch,
                sequence=padded_length(run, longest), context_parallel=run.context_parallel)


@dataclass
class Estimate:
    parts: list[tuple[str, float]]  # (component, bytes per device) at the peak
    phase: str  # which moment of the step is the peak: "loss" or "layer backward"
    other_phase: tuple[str, float]  # the other moment and its activation bytes
    context: float  # CUDA context, workspaces, communication buffers
    slack: float  # caching allocator: reserved but not allocated at the peak
    host_bytes: float  # CPU memory for offloaded states, whole node
    tokens_per_device: int

    @property
    def tensors(self) -> float:
        """What torch.cuda.max_memory_allocated counts."""
        return sum(size for _, size in self.parts)

    @property
    def total(self) -> float:
        return self.tensors + self.context + self.slack


def linear_weight_bytes(cfg: dict) -> float:
    """Bytes per decoder-linear weight: NF4 or int8 codes when quantised, else the compute dtype."""
    if cfg.get("adapter") == "qlora" and cfg.get("load_in_4bit"):
        return NF4_BYTES
    return INT8_BYTES if cfg.get("load_in_8bit") else compute_dtype_bytes(cfg)


def frozen_bytes(cfg: dict, arch: Architecture) -> float:
    return arch.linear_parameters * linear_weight_bytes(cfg) + arch.other_parameters * compute_dtype_bytes(cfg)


def weight_parts(run: Run, arch: Architecture) -> tuple[list[tuple[str, float]], float]:
    """Frozen and trainable parameter memory per device, and what DeepSpeed offloads to the host."""
    cfg = run.cfg
    dtype, weight = compute_dtype_bytes(cfg), linear_weight_bytes(cfg)
    stage, world = run.zero_stage, run.world_size
    trainable = trainable_parameters(arch, cfg)

    frozen = frozen_bytes(cfg, arch)
    layer = arch.linear_parameters / arch.layers * weight + 2 * arch.hidden * dtype
    gathered = 2 * max(layer, arch.vocab * arch.hidden * dtype)
    if stage == 3 and run.offloads("param"):
        weights = gathered
    elif stage == 3:
        weights = frozen / world + gathered
    else:
        weights = frozen
    parts = [("frozen weights" + (" (gathered working set)" if stage == 3 else ""), weights)]
    if run.deepspeed is None:
        if run.accumulation > 1:  # gradients live from the first micro-batch to the optimizer step
            return parts + [("adapters: fp32 weights, gradients, Adam states", 16.0 * trainable)], 0.0
        return parts + [("adapters: fp32 weights, Adam states", 12.0 * trainable)], 0.0
    on_gpu = 2.0 * trainable / (world if stage == 3 else 1) + 2.0 * trainable / (world if stage >= 2 else 1)
    optimizer = 16.0 * trainable / (world if stage >= 1 else 1)
    parts.append(("adapters: bf16 weights + gradients", on_gpu))
    host = frozen if stage == 3 and run.offloads("param") else 0.0
    if run.offloads("optimizer"):
        host += optimizer * world
    else:
        parts.append(("optimizer: fp32 master, gradient, Adam m, v", optimizer))
    return parts, host


def estimate(run: Run, arch: Architecture, longest: int) -> Estimate:
    """Peak memory per device for the run's longest micro-batch of `longest` tokens."""
    step = training_step(run, longest)
    weights, host = weight_parts(run, arch)
    moments = phases(arch, step)
    if linear_weight_bytes(run.cfg) < step.dtype:
        largest = max(i * o for i, o in arch.linear_shapes().values())
        moments["layer backward"].append(("dequantised linear (the largest)", largest * step.dtype))
    sizes = {name: sum(size for _, size in parts) for name, parts in moments.items()}
    peak = max(sizes, key=sizes.get)
    other = next(name for name in sizes if name != peak)
    gpu = bool(run.gpus)
    return Estimate(parts=weights + moments[peak], phase=peak, other_phase=(other, sizes[other]),
                    context=CUDA_CONTEXT if gpu else 0.0, slack=ALLOCATOR_SLACK * sizes[peak] if gpu else 0.0,
                    host_bytes=host, tokens_per_device=step.tokens)
