"""Common GPU sizes, and the cheapest setup on which a run's estimate fits."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from plan.memory import GiB
from plan.run_config import HARDWARE, Run


@dataclass(frozen=True)
class GPU:
    size_gb: int  # as sold
    card: str  # the class's common card, whose numbers follow
    memory_gib: float  # total memory as nvidia-smi reports it
    bf16_tflops: float  # dense bf16 tensor-core peak, datasheet (no sparsity)


# nvidia-smi totals: L4 23,034 MiB; A100 40GB SXM 40,536 MiB; L40S 46,068 MiB; H100 80GB SXM
# 81,559 MiB; H200 143,771 MiB (the card measured in plan/measured_h200.csv).
GPUS = (
    GPU(24, "L4", 23034 / 1024, 121.0),
    GPU(40, "A100 40GB", 40536 / 1024, 312.0),
    GPU(48, "L40S", 46068 / 1024, 362.0),
    GPU(80, "H100 80GB", 81559 / 1024, 989.0),
    GPU(141, "H200", 143771 / 1024, 989.0),
)


def by_size(size_gb: float) -> GPU:
    """The catalogue's GPU of that size, or the nearest (a header's `N x SIZE GB GPU`)."""
    return min(GPUS, key=lambda g: abs(g.size_gb - size_gb))


def variant(run: Run, gpus: int, deepspeed: str | None, context_parallel: int) -> Run:
    """The same run on `gpus` GPUs with another DeepSpeed config and context-parallel size."""
    cfg = copy.deepcopy(run.cfg)
    cfg.pop("deepspeed", None)
    cfg.pop("sequence_parallel_degree", None)
    if deepspeed:
        cfg["deepspeed"] = deepspeed
    cfg["context_parallel_size"] = context_parallel
    cfg.pop("use_ray", None)
    size = run.gpu_memory_gb or 80
    header = [line for line in run.header if not re.search(HARDWARE, line)]
    return Run(run.path, cfg, header + [f"Hardware: {gpus} x {size:.0f} GB GPU"])


def smallest_fitting(total_bytes: float) -> GPU | None:
    """The smallest catalogued GPU whose memory holds `total_bytes`."""
    return next((g for g in GPUS if total_bytes <= g.memory_gib * GiB), None)
