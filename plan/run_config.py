"""A run YAML as Axolotl 0.21 validates it, plus the facts only its header knows.

Axolotl cannot see the machine a run is launched on, yet the true global batch, the
DeepSpeed batch fields and the memory budget all depend on it. Every run YAML therefore
opens with a header that `load_run` reads:

    # axolotl train axolotl_configs/NAME.yml -- --num_processes 2
    # Hardware: 2 x 80 GB GPU ...                  (or "# Hardware: CPU ...")
    # ... python -m prep.build ... --sequence-len 8192 --out data/prepared/NAME
    # Batch: 1 micro-batch x 8 accumulation x 1 data-parallel rank = 8 sequences/step

`axolotl_validate` runs Axolotl's own validation on that simulated hardware; `problems`
lists what Axolotl accepts but the run gets wrong (each one a defect seen in practice).
The config tests and `python -m plan` share both.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import shlex
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# The least capable GPU a header may name: 80 GB A100 (bf16 and tf32, no fp8).
SIMULATED_GPU = {"bf16": True, "fp8": False, "tf32": True, "compute_capability": "sm_80"}
CPU = {"bf16": False, "fp8": False, "tf32": False, "n_gpu": 1, "compute_capability": None}

# How Axolotl reads prep.build's JSONL (verified: labels on the answer and its end-of-turn token).
PREPARED_DATASET = {"ds_type": "json", "type": "chat_template", "field_messages": "messages",
                    "roles_to_train": ["assistant"], "train_on_eos": "turn"}

# Chat templates that raise on a system message ("roles must alternate user/assistant").
NO_SYSTEM_ROLE = {"mistralai/Mistral-7B-Instruct-v0.2"}

BATCH_FIELDS = ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "train_batch_size")
HARDWARE = r"^Hardware:\s*(\d+) x (\d+) GB GPU"


@dataclass
class Run:
    path: Path
    cfg: dict
    header: list[str]  # leading comment lines, "# " stripped

    def header_line(self, pattern: str) -> re.Match | None:
        return next((m for m in map(re.compile(pattern).search, self.header) if m), None)

    @cached_property
    def command(self) -> list[str]:
        match = self.header_line(r"\baxolotl train \S+.*$")
        return shlex.split(match.group(0)) if match else []

    @property
    def gpus(self) -> int:
        """GPUs named on the Hardware line; 0 for a CPU run."""
        match = self.header_line(HARDWARE)
        return int(match.group(1)) if match else 0

    @property
    def gpu_memory_gb(self) -> float | None:
        match = self.header_line(HARDWARE)
        return float(match.group(2)) if match else None

    @cached_property
    def prep_args(self) -> dict[str, str]:
        """The header's data command (`python -m prep.build` or an importer) as {"--flag": value}."""
        match = self.header_line(r"python -m prep\.(?:build|importers\.\w+) .*$")
        if not match:
            return {}
        words = shlex.split(match.group(0))[3:]
        return {w: (words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("--") else "")
                for i, w in enumerate(words) if w.startswith("--")}

    @property
    def world_size(self) -> int:
        return int(self.cfg.get("ray_num_workers", 1)) if self.cfg.get("use_ray") else max(self.gpus, 1)

    @property
    def context_parallel(self) -> int:
        """As Axolotl reads it, the deprecated name included."""
        return int(self.cfg.get("context_parallel_size") or self.cfg.get("sequence_parallel_degree") or 1)

    @property
    def data_parallel(self) -> int:
        """Ranks that see different samples: context and tensor parallel ranks share one."""
        return self.world_size // (self.context_parallel * int(self.cfg.get("tensor_parallel_size") or 1))

    @property
    def global_batch(self) -> int:
        return self.micro_batch * self.accumulation * self.data_parallel

    @property
    def micro_batch(self) -> int:
        return int(self.cfg.get("micro_batch_size") or 1)

    @property
    def accumulation(self) -> int:
        return int(self.cfg.get("gradient_accumulation_steps") or 1)

    def batch_arithmetic(self) -> str:
        ranks = "rank" if self.data_parallel == 1 else "ranks"
        return (f"{self.micro_batch} micro-batch x {self.accumulation} accumulation"
                f" x {self.data_parallel} data-parallel {ranks} = {self.global_batch} sequences/step")

    @property
    def deepspeed(self) -> dict | None:
        name = self.cfg.get("deepspeed")
        return json.loads((ROOT / name).read_text()) if name and (ROOT / name).is_file() else None

    @property
    def zero_stage(self) -> int:
        return int(((self.deepspeed or {}).get("zero_optimization") or {}).get("stage", 0))

    def offloads(self, what: str) -> bool:
        """Whether DeepSpeed offloads `what` ("param" or "optimizer") to CPU."""
        zero = (self.deepspeed or {}).get("zero_optimization") or {}
        return (zero.get(f"offload_{what}") or {}).get("device", "none") == "cpu"

    @property
    def dataset_path(self) -> Path:
        return ROOT / self.cfg["datasets"][0]["path"]


def load_run(path: str | Path) -> Run:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    header = []  # one entry per logical line: a trailing backslash continues it
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if header and header[-1].endswith("\\"):
            header[-1] = header[-1][:-1].rstrip() + " " + line[1:].strip()
        else:
            header.append(line[1:].strip())
    return Run(path, yaml.safe_load(text), header)


def capabilities(run: Run) -> tuple[dict, dict]:
    """What `axolotl.cli.config.gpu_capabilities` would report on the header's hardware."""
    import torch

    caps = {**SIMULATED_GPU, "n_gpu": run.world_size} if run.gpus else dict(CPU)
    return caps, {"torch_version": torch.__version__.split("+")[0]}


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def axolotl_validate(run: Run):
    """Axolotl's validation as `axolotl train` runs it (plugins first), on the header's hardware.

    Returns (validated config, Axolotl's warnings); raises what Axolotl raises. A Ray run is
    validated twice, as Axolotl does: on the driver (no GPU) and on a GPU worker.
    """
    from axolotl.utils.config import prepare_plugins, validate_config
    from axolotl.utils.dict import DictDefault

    collect = _Collect()
    logger = logging.getLogger("axolotl")
    logger.addHandler(collect)
    try:
        rounds = [(None, None)] if run.cfg.get("use_ray") else []
        rounds.append(capabilities(run))
        for caps, env_caps in rounds:
            cfg = DictDefault(copy.deepcopy(run.cfg))
            if cfg.deepspeed:
                cfg.deepspeed = str(ROOT / cfg.deepspeed)
            prepare_plugins(cfg)
            validated = validate_config(cfg, capabilities=caps, env_capabilities=env_caps)
    finally:
        logger.removeHandler(collect)
    return validated, collect.messages


def _schema_fields(model) -> dict:
    """Field name and alias -> pydantic field, for Axolotl's config or dataset schema."""
    fields = {}
    for name, field in model.model_fields.items():
        fields[name] = field
        if field.alias:
            fields[field.alias] = field
    return fields


def _retired(field) -> bool:
    """Deprecated or internal-only, by Axolotl's own field metadata."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    text = f"{field.description or ''} {extra.get('description', '')}".lower()
    return bool(field.deprecated) or "deprecated" in text or "internal use" in text


def key_problems(cfg: dict) -> list[str]:
    """Keys Axolotl would silently ignore (unknown) or that it has retired."""
    from axolotl.integrations.config import merge_input_args
    from axolotl.utils.config import prepare_plugins
    from axolotl.utils.dict import DictDefault
    from axolotl.utils.schemas.datasets import SFTDataset

    prepare_plugins(DictDefault(copy.deepcopy(cfg)))  # plugins add their own options to the schema
    out = []
    top, dataset = _schema_fields(merge_input_args()[0]), _schema_fields(SFTDataset)
    for where, keys, fields in [("", cfg, top)] + [(f"datasets[{i}].", d, dataset) for i, d in enumerate(cfg.get("datasets") or [])]:
        for key in keys:
            if key not in fields:
                out.append(f"{where}{key}: not an Axolotl 0.21 option, it would be ignored")
            elif _retired(fields[key]):
                out.append(f"{where}{key}: deprecated or internal in Axolotl 0.21 ({fields[key].deprecated or 'see its schema'})")
    return out


def deepspeed_problems(run: Run) -> list[str]:
    """DeepSpeed fields that disagree with the YAML and the header's world size."""
    name = run.cfg.get("deepspeed")
    if not name:
        return []
    if run.deepspeed is None:
        return [f"deepspeed: {name} does not exist"]
    cfg, out = run.cfg, []
    expected = {"train_micro_batch_size_per_gpu": run.micro_batch, "gradient_accumulation_steps": run.accumulation,
                "train_batch_size": run.global_batch}
    for field in BATCH_FIELDS:
        value = run.deepspeed.get(field, "auto")
        if value != "auto" and value != expected[field]:
            out.append(f"{name}: {field}={value}, but the run gives {expected[field]} ({run.batch_arithmetic()})")
    if run.context_parallel > 1 and run.deepspeed.get("train_batch_size", "auto") != "auto":
        out.append(f"{name}: train_batch_size must be \"auto\" with context_parallel_size > 1: the HF Trainer checks "
                   f"it against micro x accumulation x {run.world_size} processes, DeepSpeed against "
                   f"{run.data_parallel} data-parallel rank(s)")
    for precision in ("bf16", "fp16"):
        value = (run.deepspeed.get(precision) or {}).get("enabled", "auto")
        if value != "auto" and value != bool(cfg.get(precision)):
            out.append(f"{name}: {precision}.enabled={value} but the YAML has {precision}: {cfg.get(precision)}")
    if cfg.get("device_map") is not None:
        out.append("device_map: ignored under DeepSpeed (ZeRO-3 removes it; DeepSpeed places the weights)")
    return out


def header_problems(run: Run) -> list[str]:
    out = []
    name = run.path.name
    if not run.command or Path(run.command[2]).name != name:
        out.append(f"header: no `axolotl train axolotl_configs/{name}` launch command")
    if not run.header_line(r"^Hardware:"):
        out.append("header: no `Hardware:` line")
    if run.cfg.get("use_ray"):
        if "--use-ray" not in run.command:
            out.append("header: a Ray run is launched with `axolotl train ... --use-ray`")
        if run.gpus and run.cfg.get("ray_num_workers", 1) != run.gpus:
            out.append(f"ray_num_workers={run.cfg.get('ray_num_workers', 1)} but the Hardware line names {run.gpus} GPUs")
    elif run.gpus > 1 and run.command[-2:] != ["--num_processes", str(run.gpus)]:
        out.append(f"header: the launch command must end with `-- --num_processes {run.gpus}` (Hardware: {run.gpus} GPUs)")
    if run.world_size % (run.context_parallel * int(run.cfg.get("tensor_parallel_size") or 1)):
        out.append(f"context_parallel_size {run.context_parallel} does not divide the world size {run.world_size}")
    if run.batch_arithmetic() not in " ".join(run.header):
        out.append(f"header: batch arithmetic must read `{run.batch_arithmetic()}`")
    prep = run.prep_args
    if not prep:
        out.append("header: no `python -m prep.build ...` (or prep.importers) command for the data")
    else:
        dataset_dir = Path(run.cfg["datasets"][0]["path"]).parent
        tokenizer = run.cfg.get("tokenizer_config") or run.cfg["base_model"]
        for flag, want in (("--sequence-len", str(run.cfg.get("sequence_len"))), ("--out", str(dataset_dir)),
                           ("--tokenizer", str(tokenizer))):
            if prep.get(flag) != want:
                out.append(f"header: prep.build {flag} {prep.get(flag)} but the run needs {want}")
    return out


def problems(run: Run) -> list[str]:
    """What Axolotl 0.21 accepts but this run gets wrong; empty when the run is sound."""
    cfg = run.cfg
    out = header_problems(run) + key_problems(cfg) + deepspeed_problems(run)
    if cfg.get("load_in_4bit") and cfg.get("adapter") != "qlora":
        out.append("load_in_4bit with adapter: lora loads the model unquantised; 4-bit needs adapter: qlora")
    if cfg.get("adapter") == "qlora" and not cfg.get("load_in_4bit"):
        out.append("adapter: qlora needs load_in_4bit: true")
    if cfg.get("excess_length_strategy") is None:
        out.append("excess_length_strategy: must be explicit (Axolotl's default 'drop' removes long samples silently)")
    if cfg.get("lora_modules_to_save") and not (cfg.get("tokens") or cfg.get("added_tokens_overrides")):
        out.append("lora_modules_to_save: trains whole embedding/output matrices; only needed when tokens are added")
    if cfg["base_model"] in NO_SYSTEM_ROLE and cfg.get("default_system_message"):
        out.append(f"default_system_message: {cfg['base_model']}'s chat template has no system role")
    if cfg.get("output_dir") != f"runs/{run.path.stem}/adapter":
        out.append(f"output_dir: must be runs/{run.path.stem}/adapter (one folder per run)")
    for i, dataset in enumerate(cfg.get("datasets") or []):
        for key, want in PREPARED_DATASET.items():
            if dataset.get(key) != want:
                out.append(f"datasets[{i}].{key}: {dataset.get(key)!r}, prepared data is read with {want!r}")
    return out
