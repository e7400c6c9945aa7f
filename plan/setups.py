"""The cheapest GPU setup on which a run fits, and its step and epoch time.

Candidates: one GPU without DeepSpeed (the whole sequence on it); the run as configured; and,
when it offloads to CPU, the same without offload. Each gets the smallest catalogued GPU
whose memory holds its estimate (allocated tensors + CUDA context + allocator slack).
"""

from __future__ import annotations

from plan.architecture import Architecture
from plan.data import micro_batches, packed_bins, schedule
from plan.gpus import GPU, by_size, smallest_fitting, variant
from plan.memory import GiB, estimate, frozen_bytes, padded_length
from plan.run_config import Run
from plan.speed import compute_seconds, offload_seconds, sequence_flops, utilisation

NO_OFFLOAD = {2: "deepspeed/zero2.json", 3: "deepspeed/zero3.json"}


def describe(run: Run) -> str:
    if not run.deepspeed:
        return "no DeepSpeed"
    offload = " + CPU offload" if run.offloads("param") or run.offloads("optimizer") else ""
    return f"ZeRO-{run.zero_stage}{offload}, context parallel {run.context_parallel}"


def epoch_seconds(run: Run, arch: Architecture, lengths: list[int], gpu: GPU) -> float:
    """One epoch over samples of `lengths` tokens, batched as the run batches them."""
    checkpointing = bool(run.cfg.get("gradient_checkpointing"))
    if run.cfg.get("sample_packing"):
        sequences = [run.cfg["sequence_len"]] * packed_bins(lengths, run.cfg["sequence_len"])
    else:
        sequences = [padded_length(run, max(b)) for b in micro_batches(run, lengths) for _ in b]
    seconds = compute_seconds(sum(sequence_flops(arch, n, checkpointing) for n in sequences), gpu, run.world_size)
    if run.offloads("param"):  # every forward, backward (and recomputation) pass streams the weights again
        passes = (3 if checkpointing else 2) * -(-len(sequences) // (run.micro_batch * run.data_parallel))
        seconds += offload_seconds(frozen_bytes(run.cfg, arch), passes, run.world_size)
    return seconds


def steps_per_epoch(run: Run, lengths: list[int]) -> int:
    packing = run.cfg.get("sample_packing")
    return schedule(run, packed_bins(lengths, run.cfg["sequence_len"]) if packing else len(lengths))["steps_per_epoch"]


def setups_section(run: Run, arch: Architecture, longest: int, lengths: list[int] | None) -> tuple[list[str], dict]:
    """Lines and summary: per candidate setup, the smallest GPU that fits and the time it takes."""
    candidates = [("1 GPU, no DeepSpeed", variant(run, 1, None, 1))]
    if run.deepspeed:
        candidates.append((f"as configured: {run.world_size} GPUs, {describe(run)}", run))
        if (run.offloads("param") or run.offloads("optimizer")) and run.zero_stage in NO_OFFLOAD:
            candidates.append(("as configured without CPU offload",
                               variant(run, run.world_size, NO_OFFLOAD[run.zero_stage], run.context_parallel)))
    configured = by_size(run.gpu_memory_gb)
    sample = lengths or [run.cfg["sequence_len"]] * max(run.global_batch, 1)
    lines = [f"Setups (step time: FLOPs at {100 * utilisation():.1f}% of the dense bf16 peak, as the H200 runs reached;"
             f" {'an epoch of the data' if lengths else 'steps of sequence_len samples: no data'})"]
    summary = {}
    for name, candidate in candidates:
        result = estimate(candidate, arch, longest)
        gpu = smallest_fitting(result.total)
        line = (f"  {name}: {result.tensors / GiB:.1f} GiB allocated, {result.total / GiB:.1f} GiB with context "
                f"and slack -> " + (f"smallest GPU {gpu.size_gb} GB ({gpu.card})" if gpu else "fits no single GPU"))
        entry = {"tensors": result.tensors, "total": result.total, "smallest_gpu_gb": gpu.size_gb if gpu else None}
        steps = steps_per_epoch(candidate, lengths) if lengths else 1
        for card in dict.fromkeys(g for g in (gpu, configured) if g):
            seconds = epoch_seconds(candidate, arch, sample, card)
            line += f"; on {card.card}: {seconds / steps:.1f} s/step" + (f", {seconds / 3600:.2f} h/epoch" if lengths else "")
            entry[f"step_seconds_{card.size_gb}"] = seconds / steps
            if lengths:
                entry[f"epoch_hours_{card.size_gb}"] = seconds / 3600
        lines.append(line)
        summary[name] = entry
    fitting = [(name, summary[name]["smallest_gpu_gb"], c) for name, c in candidates if summary[name]["smallest_gpu_gb"]]
    if fitting:
        name, size, lightest = min(fitting, key=lambda f: (f[2].world_size * f[1], bool(f[2].deepspeed)))
        lines.append(f"  lightest that fits: {lightest.world_size} x {size} GB GPU ({by_size(size).card}), {describe(lightest)}")
        if lightest is not run and run.gpus * run.gpu_memory_gb > lightest.world_size * size:
            lines.append(f"  -> the run asks for {run.gpus} x {run.gpu_memory_gb:.0f} GB GPUs ({describe(run)}); "
                         f"{lightest.world_size} x {size} GB, {describe(lightest)}, holds it")
        summary["lightest"] = {"gpus": lightest.world_size, "gpu_gb": size, "deepspeed": bool(lightest.deepspeed)}
    if len(candidates) == 3:
        with_offload, without = (summary[name]["smallest_gpu_gb"] for name, _ in candidates[1:])
        needed = without is None or (with_offload is not None and without > with_offload)
        lines.append(f"  CPU offload needed: {'yes' if needed else 'no: the same GPUs hold it without offload'}")
        summary["offload_needed"] = needed
    return lines, summary
