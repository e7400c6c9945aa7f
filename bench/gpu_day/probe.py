"""An Axolotl plugin that records each optimizer step's seconds and the run's peak GPU memory.

Listed under `plugins:` in the YAMLs `bench.gpu_day.configs` writes. It writes
`probe.json` beside the run's `output_dir` when training ends: the wall seconds of every step
(CUDA synchronised at each step's end, so a step's kernels are inside it), the memory allocated
when training starts (weights, adapters) and `torch.cuda.max_memory_allocated` /
`max_memory_reserved` over the whole training, the numbers the H200 measurements and
`python -m plan` use. On CPU the memory fields are null.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from axolotl.integrations.base import BasePlugin

GiB = 1024**3


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepTimer(TrainerCallback):
    def __init__(self, out: Path):
        self.out, self.marks, self.base = out, [], None

    def on_train_begin(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated() / GiB
        _sync()
        self.marks = [time.perf_counter()]

    def on_step_end(self, args, state, control, **kwargs):
        _sync()
        self.marks.append(time.perf_counter())

    def on_train_end(self, args, state, control, **kwargs):
        cuda = torch.cuda.is_available()
        result = {"step_seconds": [b - a for a, b in zip(self.marks, self.marks[1:])],
                  "device": torch.cuda.get_device_name() if cuda else "cpu",
                  "base_allocated_gib": self.base,
                  "peak_allocated_gib": torch.cuda.max_memory_allocated() / GiB if cuda else None,
                  "peak_reserved_gib": torch.cuda.max_memory_reserved() / GiB if cuda else None,
                  "losses": [e["loss"] for e in state.log_history if "loss" in e]}
        self.out.write_text(json.dumps(result, indent=2) + "\n")


class StepProbe(BasePlugin):
    def add_callbacks_post_trainer(self, cfg, trainer):
        return [StepTimer(Path(cfg.output_dir).parent / "probe.json")]
