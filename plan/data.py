"""The prepared data against a run: lengths, what is dropped or truncated, padding, the schedule."""

from __future__ import annotations

import bisect
import json
import math
import random
from pathlib import Path

import numpy as np

from plan.memory import padded_length
from plan.run_config import ROOT, Run
from prep import prompt


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


def answer_tokens(tokenizer: str) -> tuple[dict[str, int], str]:
    """Labelled tokens per answer: the answer plus its end-of-turn token (train_on_eos: turn)."""
    folder = local_tokenizer(tokenizer)
    if folder:
        from prep.tokens import TokenCounter

        counts = TokenCounter(str(folder)).answer_tokens
        return {a: n + 1 for a, n in counts.items()}, f"counted with {folder.relative_to(ROOT)}"
    return {a: 2 for a in prompt.ANSWERS}, "assumed: one answer token + end-of-turn (tokenizer not local)"


def local_tokenizer(name: str) -> Path | None:
    """A local folder with `name`'s tokenizer: the folder itself, or one materialised for that model."""
    if (ROOT / name / "tokenizer_config.json").is_file():
        return ROOT / name
    return next((marker.parent for marker in sorted((ROOT / "models").glob("*/materialised.json"))
                 if tokenizer_of(marker.parent) == name), None)


def tokenizer_of(folder: Path) -> str | None:
    """The model whose tokenizer a materialised folder holds (as prep.mistral_tokenizer records it)."""
    marker = folder / "materialised.json"
    return json.loads(marker.read_text()).get("tokenizer_of") if marker.is_file() else None


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


def micro_batches(run: Run, lengths: list[int]) -> list[list[int]]:
    """One epoch's micro-batches without packing, in the trainer's seeded shuffle."""
    order = list(lengths)
    random.Random(run.cfg.get("seed", 0)).shuffle(order)
    return [order[i:i + run.micro_batch] for i in range(0, len(order), run.micro_batch)]


def padding_without_packing(run: Run, lengths: list[int]) -> int:
    """Pad tokens of one epoch: each micro-batch padded as Axolotl's collator does."""
    return sum(len(b) * padded_length(run, max(b)) - sum(b) for b in micro_batches(run, lengths))


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
               "padding_with_packing": pad_packed, "longest": max(kept_lengths, default=seq),
               "trained_lengths": kept_lengths[:n_train], **steps}
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
    """Equal settings; local folders compare by where they resolve, or by the model whose tokenizer they hold."""
    return a == b or ((ROOT / a).is_dir() and (ROOT / a).resolve() == (ROOT / b).resolve()) or tokenizer_of(ROOT / a) == b
