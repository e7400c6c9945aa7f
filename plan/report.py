"""The plan of one or more runs: will each work, fit and how long will it take.

    python -m plan axolotl_configs/mistral_snippet.yml [more.yml ...] [--data data/prepared/mistral-snippets/train.jsonl]

Reads each run YAML, its header (hardware, launch and prep commands) and the prepared data
(`meta.n_tokens` is the exact tokenized length), and prints: Axolotl 0.21's validation on the
header's hardware and the repository's run rules; the token length distribution against
sequence_len; samples that would be truncated or excluded; trainable vs total tokens;
padding waste with and without sample packing; steps per epoch and the true global batch;
trainable parameters; the estimated peak memory per device with its parts and assumptions;
the cheapest GPU setup that fits, with step and epoch time. Returns the problems found: a run
that would fail, drop data or not fit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from plan.architecture import KNOWN_ARCHITECTURES, architecture
from plan.data import answer_tokens, data_section, prep_problems, read_samples
from plan.gpus import by_size
from plan.memory import ASSUMPTIONS, GiB, estimate, lora_targets, padded_length, trainable_parameters
from plan.run_config import ROOT, Run, axolotl_validate, capabilities, load_run, problems
from plan.setups import setups_section


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
        f"({run.micro_batch} x {padded_length(run, longest)} tokens, {result.tokens_per_device} on each device); "
        f"the peak is the {result.phase} (the {result.other_phase[0]}: {result.other_phase[1] / GiB:.2f} GiB of activations)",
    ]
    lines += [f"  {name:<60} {size / GiB:8.2f} GiB" for name, size in result.parts]
    lines.append(f"  {'tensors (what torch.cuda.max_memory_allocated counts)':<60} {result.tensors / GiB:8.2f} GiB")
    if run.gpus:
        lines.append(f"  {'+ CUDA context, workspaces, NCCL/DeepSpeed buffers':<60} {result.context / GiB:8.2f} GiB")
        lines.append(f"  {'+ allocator slack (reserved, not allocated)':<60} {result.slack / GiB:8.2f} GiB")
        gpu = by_size(run.gpu_memory_gb)
        fits = result.total <= gpu.memory_gib * GiB
        lines.append(f"  {'total':<60} {result.total / GiB:8.2f} GiB of {gpu.memory_gib:.1f} GiB ({gpu.size_gb} GB "
                     f"{gpu.card}) -> {'fits' if fits else 'DOES NOT FIT'}")
        if not fits:
            trouble.append(f"estimated {result.total / GiB:.1f} GiB per GPU exceeds the {gpu.memory_gib:.1f} GiB "
                           f"of a {gpu.size_gb} GB GPU")
    if result.host_bytes:
        lines.append(f"  CPU memory for offloaded states (whole node): {result.host_bytes / GiB:.2f} GiB")
    lines.append("  assumptions:")
    lines += [f"   {i}. {text}" for i, text in enumerate(ASSUMPTIONS, start=1)]
    summary = {"total_parameters": arch.total_parameters, "trainable_parameters": trainable,
               "tensor_bytes_per_device": result.tensors, "peak_bytes_per_device": result.total,
               "peak_phase": result.phase, "host_bytes": result.host_bytes, "parts": dict(result.parts)}
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
        answers, how = answer_tokens(cfg.get("tokenizer_config") or cfg["base_model"])
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
    if run.gpus:
        setup_lines, summary["setups"] = setups_section(run, architecture(cfg["base_model"]), longest,
                                                        summary.get("trained_lengths"))
        lines += [""] + setup_lines
    summary["problems"] = trouble
    lines += ["", "Problems" if trouble else "No problems found: the run is ready."]
    lines += [f"  - {t}" for t in trouble]
    return lines, summary


def main(argv: list[str] | None = None) -> list[dict]:
    """Plans every config given; returns their summaries (each with its `problems`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", type=Path, nargs="+", help="run YAMLs (axolotl_configs/NAME.yml)")
    parser.add_argument("--data", type=Path, help="prepared JSONL (one config only); default: the run's first dataset")
    args = parser.parse_args(argv)
    if args.data and len(args.configs) > 1:
        parser.error("--data applies to one config")
    summaries = []
    for path in args.configs:
        run = load_run(path)
        lines, summary = plan(run, args.data or run.dataset_path)
        print("\n".join(lines) + "\n")
        summaries.append(summary)
    return summaries
