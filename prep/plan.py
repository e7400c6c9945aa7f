"""Check a run before any GPU hour is paid for.

    python -m prep.plan axolotl_configs/mistral_snippet.yml [--data data/prepared/mistral-snippets/train.jsonl]

Reads the run YAML, its header (hardware, launch and prep commands) and the prepared data
(`meta.n_tokens` is the exact tokenized length), and prints: Axolotl 0.21's validation on the
header's hardware and the repository's run rules; the token length distribution against
sequence_len; samples that would be truncated or excluded; trainable vs total tokens;
padding waste with and without sample packing; steps per epoch and the true global batch;
trainable parameters; the estimated peak memory per device with its assumptions. Exits 1
when the run would fail, drop data, or not fit.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import sys
from pathlib import Path

import numpy as np

from prep import prompt
from prep.memory import ASSUMPTIONS, GiB, KNOWN_ARCHITECTURES, architecture, estimate, lora_targets, padded_length, trainable_parameters
from prep.run_config import ROOT, Run, axolotl_validate, capabilities, load_run, problems


def read_samples(path: Path) -> list[dict]:
    """The `meta` of every prepared row; a row without meta.n_tokens is an error naming it."""
    metas = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            meta = json.loads(line).get("meta") or {}
            if not isinstance(meta.get("n_tokens"), int):
                raise ValueError(f"{path}:{number}: meta.n_tokens missing; prepare the data with prep.build")
            metas.append(meta)
    if not metas:
        raise ValueError(f"{path}: no rows")
    return metas


def labels(meta: dict) -> list[str]:
    """The answers a row trains on: one (pair layout) or one per question turn (multi layout)."""
    return [pair["label"] for pair in meta.get("pairs", [meta])]


def answer_tokens(base_model: str) -> tuple[dict[str, int], str]:
    """Labelled tokens per answer: the answer plus its end-of-turn token (train_on_eos: turn)."""
    if (ROOT / base_model / "tokenizer_config.json").is_file():
        from prep.tokens import TokenCounter

        counts = TokenCounter(str(ROOT / base_model)).answer_tokens
        return {a: n + 1 for a, n in counts.items()}, "counted with the run's tokenizer"
    return {a: 2 for a in prompt.ANSWERS}, "assumed: one answer token + end-of-turn (tokenizer not local)"


def packed_bins(lengths: list[int], capacity: int) -> int:
    """Sequences of `capacity` tokens that best-fit-decreasing packing needs (close to Axolotl's multipack)."""
    free: list[int] = []  # remaining capacity of each open bin, sorted
    for length in sorted(lengths, reverse=True):
        i = bisect.bisect_left(free, length)
        if i == len(free):
            bisect.insort(free, capacity - length)
        else:
            bisect.insort(free, free.pop(i) - length)
    return len(free)


def padding_without_packing(run: Run, lengths: list[int]) -> int:
    """Pad tokens of one epoch: each micro-batch padded as Axolotl's collator does (seeded shuffle)."""
    order = list(lengths)
    random.Random(run.cfg.get("seed", 0)).shuffle(order)
    batches = [order[i:i + run.micro_batch] for i in range(0, len(order), run.micro_batch)]
    return sum(len(b) * padded_length(run, max(b)) - sum(b) for b in batches)


def train_count(run: Run, n: int) -> int:
    val = run.cfg.get("val_set_size") or 0
    return n - (int(val) if val >= 1 else int(round(n * val)))


def schedule(run: Run, units: int) -> dict:
    """Optimizer steps, as the HF Trainer counts them, for `units` sequences (or packed bins)."""
    micro_steps = math.ceil(units / (run.micro_batch * run.data_parallel))
    per_epoch = math.ceil(micro_steps / run.accumulation)
    epochs = run.cfg.get("num_epochs", 1)
    total = run.cfg.get("max_steps") or per_epoch * epochs
    return {"steps_per_epoch": per_epoch, "total_steps": total, "epochs": total / per_epoch if per_epoch else 0.0}


def data_section(run: Run, metas: list[dict], answers: dict[str, int]) -> tuple[list[str], dict, list[str]]:
    cfg, seq = run.cfg, run.cfg["sequence_len"]
    lengths = [m["n_tokens"] for m in metas]
    answered = [label for m in metas for label in labels(m)]
    policy = cfg.get("excess_length_strategy") or "drop"
    minimum = cfg.get("min_sample_len") or 2
    over = [m for m in metas if m["n_tokens"] > seq]
    short = [m for m in metas if m["n_tokens"] < minimum]
    kept = [m for m in metas if minimum <= m["n_tokens"] <= seq or (policy == "truncate" and m["n_tokens"] > seq)]
    kept_lengths = [min(m["n_tokens"], seq) for m in kept]
    trainable = sum(answers[label] for m in kept if m["n_tokens"] <= seq for label in labels(m))
    total = sum(kept_lengths)
    p = np.percentile(lengths, [0, 50, 90, 99, 100]).round().astype(int)
    shares = np.array(lengths) / seq
    bands = [("<=25%", shares <= .25), ("25-50%", (shares > .25) & (shares <= .5)), ("50-75%", (shares > .5) & (shares <= .75)),
             ("75-100%", (shares > .75) & (shares <= 1)), (">100%", shares > 1)]
    n_train = train_count(run, len(kept))
    bins = packed_bins(kept_lengths[:n_train], seq) if kept_lengths else 0
    pad_plain = padding_without_packing(run, kept_lengths[:n_train]) if kept_lengths else 0
    pad_packed = bins * seq - sum(kept_lengths[:n_train])
    packing = bool(cfg.get("sample_packing"))
    steps = schedule(run, bins if packing else n_train)
    consequence = {"drop": "dropped by Axolotl (silently)", "truncate": "truncated: the answer is cut off, nothing to learn",
                   "raise": "the run stops while preprocessing"}[policy]
    lines = [
        f"  samples: {len(metas)} holding {len(answered)} answers ({answered.count('yes')} yes / {answered.count('no')} no), "
        f"{n_train} trained on after val_set_size {cfg.get('val_set_size') or 0}",
        f"  tokens per sample: min {p[0]} / p50 {p[1]} / p90 {p[2]} / p99 {p[3]} / max {p[4]}  vs sequence_len {seq}",
        "  share of sequence_len: " + " | ".join(f"{name} {int(mask.sum())}" for name, mask in bands),
        f"  longer than sequence_len: {len(over)} -> excess_length_strategy {policy}: {consequence if over else 'nothing affected'}",
        f"  shorter than min_sample_len {minimum}: {len(short)} (dropped)",
    ]
    lines += [f"    over: {m.get('context_id') or m['conversation_id']} {m['n_tokens']} tokens" for m in over[:5]]
    lines += [
        f"  tokens: {total:,} total, {trainable:,} trainable ({100 * trainable / max(total, 1):.3f}%; "
        f"{trainable / max(len(kept), 1):.1f} per sample)",
        f"  padding per epoch without packing: {pad_plain:,} tokens ({100 * pad_plain / max(pad_plain + total, 1):.1f}% of processed)"
        + ("" if packing else "  <- configured"),
        f"  padding per epoch with packing: {bins} sequences of {seq}, {pad_packed:,} pad tokens "
        f"({100 * pad_packed / max(bins * seq, 1):.1f}%)" + ("  <- configured" if packing else ""),
        "",
        "Schedule",
        f"  true global batch: {run.batch_arithmetic()}"
        + (f" (each packed sequence holds ~{n_train / max(bins, 1):.1f} samples)" if packing else ""),
        f"  steps per epoch: {steps['steps_per_epoch']}; optimizer steps: {steps['total_steps']}"
        f" = {steps['epochs']:.2f} epochs" + (f" (max_steps {cfg['max_steps']})" if cfg.get("max_steps") else ""),
    ]
    trouble = []
    if over and policy != "truncate":
        trouble.append(f"{len(over)} samples exceed sequence_len {seq}: {consequence}")
    elif over:
        trouble.append(f"{len(over)} samples would be truncated: {consequence}")
    if short:
        trouble.append(f"{len(short)} samples shorter than min_sample_len {minimum} would be dropped")
    summary = {"samples": len(metas), "over_length": len(over), "too_short": len(short), "tokens": total,
               "trainable_tokens": trainable, "padding_without_packing": pad_plain, "packed_sequences": bins,
               "padding_with_packing": pad_packed, "longest": max(kept_lengths, default=seq), **steps}
    return lines, summary, trouble


def prep_problems(run: Run, data: Path) -> tuple[list[str], list[str]]:
    """The prep report next to the data must match the run: lengths counted for another tokenizer or window are wrong."""
    report_path = data.parent / "prep_report.json"
    if not report_path.is_file():
        return [], [f"no {report_path.name} next to {data}: cannot check it was prepared for this run"]
    report = json.loads(report_path.read_text())
    settings, lines, trouble = report["settings"], [], []
    want = {flag[2:].replace("-", "_"): value for flag, value in run.prep_args.items()}
    want.update(sequence_len=run.cfg["sequence_len"], tokenizer=run.cfg.get("tokenizer_config") or run.cfg["base_model"])
    for key, value in want.items():
        if key in settings and not _same(str(settings[key]), str(value)):
            trouble.append(f"data prepared with {key} {settings[key]}, the run needs {value}")
    counts = (report.get("exclusions") or {}).get("counts") or {}
    lines.append("  excluded by prep: " + (", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "none"))
    return lines, trouble


def _same(a: str, b: str) -> bool:
    """Equal settings; local model folders compare by where they resolve."""
    return a == b or ((ROOT / a).is_dir() and (ROOT / a).resolve() == (ROOT / b).resolve())


def memory_section(run: Run, longest: int) -> tuple[list[str], dict, list[str]]:
    cfg, trouble = run.cfg, []
    arch = architecture(cfg["base_model"])
    source = "built-in table" if cfg["base_model"] in KNOWN_ARCHITECTURES else "config.json"
    trainable = trainable_parameters(arch, cfg)
    if run.context_parallel > 1 and (arch.heads % run.context_parallel or arch.kv_heads % run.context_parallel):
        trouble.append(f"context_parallel_size {run.context_parallel} must divide the {arch.heads} attention and "
                       f"{arch.kv_heads} KV heads (Ulysses splits heads)")
    result = estimate(run, arch, longest)
    device = "GPU" if run.gpus else "device (CPU RAM for this CPU run)"
    lines = [
        "Parameters",
        f"  architecture ({source}): hidden {arch.hidden}, {arch.layers} layers, {arch.heads} heads / {arch.kv_heads} KV, "
        f"intermediate {arch.intermediate}, vocab {arch.vocab}",
        f"  total {arch.total_parameters:,}; trainable {trainable:,} ({100 * trainable / arch.total_parameters:.3f}%): "
        f"{cfg['adapter']} r={cfg['lora_r']} on {', '.join(lora_targets(cfg))}"
        + (f" + {', '.join(cfg['lora_modules_to_save'])}" if cfg.get("lora_modules_to_save") else ""),
        "",
        f"Peak memory per {device}, estimated for the longest micro-batch "
        f"({run.micro_batch} x {padded_length(run, longest)} tokens, {result.tokens_per_device} on each device)",
    ]
    lines += [f"  {name:<56} {size / GiB:8.2f} GiB" for name, size in result.parts]
    verdict = ""
    if run.gpu_memory_gb:
        fits = result.total <= run.gpu_memory_gb * GiB
        verdict = f" of {run.gpu_memory_gb:.0f} GB -> {'fits' if fits else 'DOES NOT FIT'}"
        if not fits:
            trouble.append(f"estimated {result.total / GiB:.1f} GiB per GPU exceeds {run.gpu_memory_gb:.0f} GB")
    lines.append(f"  {'total':<56} {result.total / GiB:8.2f} GiB{verdict}")
    if result.host_bytes:
        lines.append(f"  CPU memory for offloaded states (whole node): {result.host_bytes / GiB:.2f} GiB")
    lines.append("  assumptions:")
    lines += [f"   {i}. {text}" for i, text in enumerate(ASSUMPTIONS, start=1)]
    summary = {"total_parameters": arch.total_parameters, "trainable_parameters": trainable,
               "peak_bytes_per_device": result.total, "host_bytes": result.host_bytes,
               "parts": dict(result.parts)}
    return lines, summary, trouble


def plan(run: Run, data: Path) -> tuple[list[str], dict]:
    cfg, trouble = run.cfg, []
    lines = [f"Plan for {run.path}",
             f"  launch:   {' '.join(run.command) or '(none in header)'}",
             f"  hardware: {'%d x %.0f GB GPU' % (run.gpus, run.gpu_memory_gb) if run.gpus else 'CPU'}; world size "
             f"{run.world_size}, context parallel {run.context_parallel}, data-parallel ranks {run.data_parallel}"
             + (f", DeepSpeed ZeRO-{run.zero_stage} ({cfg['deepspeed']})" if cfg.get("deepspeed") else ""),
             f"  model:    {cfg['base_model']}, sequence_len {cfg['sequence_len']}", "", "Checks"]
    caps, _ = capabilities(run)
    try:
        _, warnings = axolotl_validate(run)
        lines.append(f"  Axolotl validation (simulated {caps['n_gpu']} x {caps['compute_capability'] or 'CPU'}, "
                     f"bf16 {caps['bf16']}): passed, {len(warnings)} warning(s)")
        lines += [f"    warning: {w.splitlines()[0][:160]}" for w in warnings]
    except Exception as error:  # Axolotl raises pydantic and plain ValueErrors alike
        lines.append("  Axolotl validation: FAILED (see Problems)")
        trouble.append("Axolotl validation failed: " + " ".join(str(error).splitlines()[:3]))
    rule_trouble = problems(run)
    trouble += rule_trouble
    lines.append(f"  run rules: {'passed' if not rule_trouble else f'{len(rule_trouble)} problems'}")

    summary: dict = {"config": str(run.path), "data": str(data), "global_batch": run.global_batch}
    lines += ["", f"Data: {data.relative_to(ROOT) if data.is_relative_to(ROOT) else data}"]
    if data.is_file():
        prep_lines, prep_trouble = prep_problems(run, data)
        answers, how = answer_tokens(cfg["base_model"])
        data_lines, data_summary, data_trouble = data_section(run, read_samples(data), answers)
        lines += prep_lines + [f"  trainable tokens per answer: {answers} ({how})"] + data_lines
        trouble += prep_trouble + data_trouble
        summary.update(data_summary)
        longest = data_summary["longest"]
    else:
        build = " ".join(["python -m prep.build"] + [f"{k} {v}".strip() for k, v in run.prep_args.items()])
        lines.append(f"  missing: prepare it with `{build}`; the estimate below assumes samples of sequence_len")
        trouble.append(f"prepared data missing: {data}")
        longest = cfg["sequence_len"]
    memory_lines, memory_summary, memory_trouble = memory_section(run, longest)
    lines += [""] + memory_lines
    trouble += memory_trouble
    summary.update(memory_summary)
    summary["problems"] = trouble
    lines += ["", "Problems" if trouble else "No problems found: the run is ready."]
    lines += [f"  - {t}" for t in trouble]
    return lines, summary


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="run YAML (axolotl_configs/NAME.yml)")
    parser.add_argument("--data", type=Path, help="prepared JSONL; default: the run's first dataset")
    args = parser.parse_args(argv)
    run = load_run(args.config)
    lines, summary = plan(run, args.data or run.dataset_path)
    print("\n".join(lines))
    return summary


if __name__ == "__main__":
    sys.exit(1 if main()["problems"] else 0)
