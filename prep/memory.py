"""Parameter counts and an estimate of peak memory per device, without loading the model.

A run's memory is decided before it starts: weights in their dtype or quantisation, the
LoRA weights and their optimizer states, activations, and how DeepSpeed partitions and
offloads each. `estimate` adds these up from the architecture numbers and the run's
settings so that a run that cannot fit is caught before a GPU hour is paid for. Every
simplification is listed in ASSUMPTIONS and printed with the estimate.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from prep.run_config import ROOT, Run

GiB = 1024**3

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

# NF4 with double quantisation (Axolotl's QLoRA default): 4-bit codes, one 8-bit absmax per
# 64 weights, one fp32 scale per 256 absmax values.
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)
INT8_BYTES = 1.0  # LLM.int8 codes; the per-row scales are negligible

ASSUMPTIONS = (
    "Weights: decoder linears in NF4 (0.516 bytes/param) for QLoRA, int8 for 8-bit, else in the "
    "training dtype; embeddings, output head and norms stay in the training dtype.",
    "ZeRO-3 partitions weights, gradients and optimizer states over all ranks (context-parallel "
    "ranks included); with parameter offload only the gathered working set is on the GPU: the "
    "largest unit (a decoder layer, the embedding or the output head) twice, in use and prefetched.",
    "QLoRA dequantises one linear at a time to the compute dtype: one largest-linear scratch copy.",
    "Trainable parameters: without DeepSpeed 16 bytes each on the device (fp32 weight, gradient, Adam "
    "m, v); under DeepSpeed 4 bytes on the GPU (bf16 weight and gradient) plus 16 bytes with the "
    "optimizer (fp32 master, gradient, Adam m, v), on CPU when the optimizer is offloaded.",
    "Activations are for the longest micro-batch after padding, split by the context-parallel size. "
    "With gradient checkpointing: every layer's input hidden state, plus one layer recomputed with its "
    "gradients (x2). Per token and layer a layer holds, for each of its two RMSNorms, the input, the "
    "normalised copy and the output (2 x 3 hidden); q, k, v, the rotated q, k and their rotate-half "
    "terms, the attention output and its reshaped copy; gate, up, act(gate) and their product (4 x "
    "intermediate); one dropout copy of the input of each LoRA-targeted module. GQA runs natively in "
    "flash/SDPA (k, v are not repeated).",
    "Flash/SDPA attention keeps no sequence x sequence matrix; eager attention does (scores and "
    "probabilities).",
    "Logits of the micro-batch in the compute dtype, their fp32 copy for the loss (16-bit training "
    "only), the fp32 log-softmax the cross-entropy keeps and its fp32 gradient: per token per "
    "vocabulary entry 2 + 4 + 8 bytes in bf16, 4 + 8 in fp32.",
    "GPU runs add 1 GiB for the CUDA context, NCCL and DeepSpeed buffers and allocator slack; the "
    "estimate for a CPU run counts tensors only.",
)


@dataclass(frozen=True)
class Architecture:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied_embeddings: bool

    @classmethod
    def from_config(cls, config: dict) -> Architecture:
        """From a Llama/Mistral-style Hugging Face config.json."""
        hidden, heads = config["hidden_size"], config["num_attention_heads"]
        return cls(hidden=hidden, layers=config["num_hidden_layers"], heads=heads,
                   kv_heads=config.get("num_key_value_heads", heads),
                   head_dim=config.get("head_dim") or hidden // heads,
                   intermediate=config["intermediate_size"], vocab=config["vocab_size"],
                   tied_embeddings=bool(config.get("tie_word_embeddings", False)))

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each projection of one decoder layer."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        h, i = self.hidden, self.intermediate
        return {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
                "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}

    @property
    def linear_parameters(self) -> int:
        return self.layers * sum(i * o for i, o in self.linear_shapes().values())

    @property
    def other_parameters(self) -> int:
        """Embedding, output head (unless tied) and the RMSNorm weights."""
        heads = 1 if self.tied_embeddings else 2
        return heads * self.vocab * self.hidden + (2 * self.layers + 1) * self.hidden

    @property
    def total_parameters(self) -> int:
        return self.linear_parameters + self.other_parameters


# mistralai/Mistral-7B-Instruct-v0.2, config.json on the Hugging Face Hub: hidden_size 4096,
# num_hidden_layers 32, num_attention_heads 32, num_key_value_heads 8, intermediate_size 14336,
# vocab_size 32000, tie_word_embeddings false; the same as Table 1 of Jiang et al., "Mistral 7B"
# (arXiv:2310.06825), head_dim 128. 7,241,732,096 parameters.
KNOWN_ARCHITECTURES = {
    "mistralai/Mistral-7B-Instruct-v0.2": Architecture(
        hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, intermediate=14336, vocab=32000,
        tied_embeddings=False),
}


def architecture(base_model: str) -> Architecture:
    """A local model folder's config.json, else the built-in table."""
    config = ROOT / base_model / "config.json"
    if config.is_file():
        return Architecture.from_config(json.loads(config.read_text()))
    if base_model in KNOWN_ARCHITECTURES:
        return KNOWN_ARCHITECTURES[base_model]
    raise ValueError(f"no architecture numbers for {base_model}: use a local model folder "
                     f"or add it to prep.memory.KNOWN_ARCHITECTURES")


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


@dataclass
class Estimate:
    parts: list[tuple[str, float]]  # (component, bytes per device)
    host_bytes: float  # CPU memory for offloaded states, whole node
    tokens_per_device: int

    @property
    def total(self) -> float:
        return sum(size for _, size in self.parts)


def estimate(run: Run, arch: Architecture, longest: int) -> Estimate:
    """Peak memory per device for the run's longest micro-batch of `longest` tokens."""
    cfg = run.cfg
    dtype = 2 if cfg.get("bf16") or cfg.get("fp16") else 4
    quantised = NF4_BYTES if cfg.get("adapter") == "qlora" and cfg.get("load_in_4bit") else (
        INT8_BYTES if cfg.get("load_in_8bit") else None)
    weight = quantised or dtype
    stage, world = run.zero_stage, run.world_size
    trainable = trainable_parameters(arch, cfg)

    frozen = arch.linear_parameters * weight + arch.other_parameters * dtype
    layer = arch.linear_parameters / arch.layers * weight + 2 * arch.hidden * dtype
    gathered = 2 * max(layer, arch.vocab * arch.hidden * dtype)
    if stage == 3 and run.offloads("param"):
        weights = gathered
    elif stage == 3:
        weights = frozen / world + gathered
    else:
        weights = frozen
    parts = [("frozen weights" + (" (gathered working set)" if stage == 3 else ""), weights)]
    if quantised:
        parts.append(("dequantised linear scratch", max(i * o for i, o in arch.linear_shapes().values()) * dtype))

    if run.deepspeed is None:
        parts.append(("trainable weights, gradients, Adam states", 16.0 * trainable))
        host = 0.0
    else:
        on_gpu = 2.0 * trainable / (world if stage == 3 else 1) + 2.0 * trainable / (world if stage >= 2 else 1)
        optimizer = 16.0 * trainable / (world if stage >= 1 else 1)
        parts.append(("trainable bf16 weights + gradients", on_gpu))
        host = frozen if stage == 3 and run.offloads("param") else 0.0
        if run.offloads("optimizer"):
            host += optimizer * world
        else:
            parts.append(("optimizer: fp32 master, gradient, Adam m, v", optimizer))

    sequence = padded_length(run, longest)
    tokens = run.micro_batch * sequence // run.context_parallel
    lora_inputs = sum(arch.linear_shapes()[m][0] for m in lora_targets(cfg)) if cfg.get("lora_dropout") else 0
    q_dim, kv_dim = arch.heads * arch.head_dim, arch.kv_heads * arch.head_dim
    norms = 2 * 3 * arch.hidden  # two RMSNorms: input, normalised copy, output
    attention = (q_dim + 2 * kv_dim) + 2 * (q_dim + kv_dim) + 2 * q_dim  # q, k, v; rotary; output + o_proj input
    per_token = norms + attention + 4 * arch.intermediate + lora_inputs
    checkpointing = bool(cfg.get("gradient_checkpointing"))
    if checkpointing:
        parts.append(("activations: layer-input checkpoints", arch.layers * tokens * arch.hidden * dtype))
        parts.append(("activations: one layer recomputed + gradients", 2 * tokens * per_token * dtype))
    else:
        parts.append(("activations: all layers + one layer's gradients", (arch.layers + 1) * tokens * per_token * dtype))
    if cfg.get("attn_implementation") == "eager":
        stored = 1 if checkpointing else arch.layers
        parts.append(("eager attention scores + probabilities",
                      stored * 2 * run.micro_batch * arch.heads / run.context_parallel * sequence**2 * dtype))
    upcast = 4 if dtype < 4 else 0  # the loss upcasts 16-bit logits to fp32
    parts.append(("logits, fp32 log-softmax and its gradient", tokens * arch.vocab * (dtype + upcast + 8)))
    if run.gpus:
        parts.append(("CUDA context, NCCL/DeepSpeed buffers, allocator slack", 1.0 * GiB))
    return Estimate(parts, host, tokens)
