"""Step time from a FLOP count and a utilisation calibrated on the H200 measurements.

FLOPs of one training pass over a sequence of T tokens, N = the decoder's linear weights,
V x h = the output head, q = query width, L layers (the LoRA adapters' own FLOPs are
negligible at rank <= 64 and left out):

    forward     2 (N + V h) T  +  2 L q T^2            (causal attention: QK^T and PV over T^2/2 pairs)
    backward    2 (N + V h) T  +  2.5 x 2 L q T^2      (frozen weights: input gradients only; flash
                                                        attention's backward recomputes the scores)
    recompute   2 N T  +  2 L q T^2                    (gradient checkpointing: the layers' forward again)

Seconds = FLOPs / (devices x the GPU's dense bf16 peak x utilisation). The utilisation is what
the H200 runs reached (measured_h200.csv: tokens/s x FLOPs per token / 989 TFLOP/s), assumed to
carry over to other cards and to context-parallel ranks (whose all-to-all is not counted). With
DeepSpeed parameter offload each pass also streams the frozen weights over PCIe.
"""

from __future__ import annotations

from functools import cache
from statistics import mean

from plan.architecture import Architecture, architecture
from plan.gpus import GPU, by_size
from plan.measured import measured_run, rows

PCIE_BYTES_PER_S = 25e9  # PCIe 4.0 x16 host-to-device, as reached in practice


def sequence_flops(arch: Architecture, tokens: int, checkpointing: bool) -> float:
    dense, layers = 2.0 * (arch.linear_parameters + arch.vocab * arch.hidden) * tokens, 2.0 * arch.linear_parameters * tokens
    attention = 2.0 * arch.layers * arch.q_width * tokens**2
    return dense + attention + dense + 2.5 * attention + ((layers + attention) if checkpointing else 0.0)


@cache
def utilisation() -> float:
    """Mean share of the H200's dense bf16 peak reached by the measured runs."""
    h200 = by_size(141)
    shares = []
    for row in rows():
        if row["tokens_per_s"]:
            run = measured_run(row)
            per_token = sequence_flops(architecture(run.cfg["base_model"]), int(row["sequence_tokens"]), True) / row["sequence_tokens"]
            shares.append(row["tokens_per_s"] * per_token / (h200.bf16_tflops * 1e12))
    return mean(shares)


def compute_seconds(flops: float, gpu: GPU, devices: int) -> float:
    return flops / (devices * gpu.bf16_tflops * 1e12 * utilisation())


def offload_seconds(weight_bytes: float, passes: int, devices: int) -> float:
    """Streaming the frozen weights from CPU memory once per pass, each GPU its share."""
    return passes * weight_bytes / (devices * PCIE_BYTES_PER_S)
