"""Prefix-cached scoring vs per-question greedy generation on long generated threads.

    python -m bench.scoring_speed --tokens 20000 --contributors 15 --statements 2 \\
        --conversations 1 --out bench/results/scoring_speed.json

Both modes answer the same questions (every contributor x statement of each thread) in one
run. Reported: wall time of each and their ratio; decision agreement between cached P(yes)
>= 0.5 and the parsed generated answer; and, as a check of the cache itself, agreement and
the largest P(yes) difference between the cached pass and the uncached first generation step
(same quantity, computed without the shared cache). Gold labels play no part: threads are
cut to the token target, which can drop planted messages.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from core.manifest import manifest
from eval.predict import load_model, predict
from prep import prompt
from prep.synth import LONG_MIN_CHARS, POSITION_WINDOWS, generate_long

CHARS_PER_TOKEN = 5  # generous: threads are generated longer than needed, then cut


def thread_rows(messages: list[dict], stances: list[dict], tokenizer, tokens: int) -> list[dict]:
    """Prepared-format rows (one per stance) over the longest chronological start of the thread
    whose conversation block fits in `tokens`."""
    number = {m["message_id"]: i for i, m in enumerate(messages, start=1)}
    lines = [prompt.message_line(i, m, number.get(m["reply_to"])) for i, m in enumerate(messages, start=1)]
    budget = tokens - len(tokenizer(prompt.context_text([]), add_special_tokens=False)["input_ids"])
    kept, used = [], 0
    for line, count in zip(lines, (len(ids) + 1 for ids in tokenizer(lines, add_special_tokens=False)["input_ids"])):
        if used + count > budget:
            break
        kept.append(line)
        used += count
    context = prompt.context_text(kept)
    conversation_id = messages[0]["conversation_id"]
    return [{"messages": prompt.chat(context, s["statement"], s["contributor"]),
             "meta": {"conversation_id": conversation_id, "statement_id": s["statement_id"],
                      "contributor": s["contributor"], "label": s["label"], "context_id": f"{conversation_id}/bench",
                      "messages_total": len(messages), "messages_kept": len(kept)}}
            for s in stances]


def timed(function, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process): CPU time is what a shared machine's
    load does not inflate."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def agreement(a: list[str], b: list[str]) -> float:
    return sum(x == y for x, y in zip(a, b)) / len(a)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/smollm2-135m-instruct")
    parser.add_argument("--adapter")
    parser.add_argument("--tokens", type=int, default=20000, help="conversation block length per thread")
    parser.add_argument("--contributors", type=int, default=15)
    parser.add_argument("--statements", type=int, default=2)
    parser.add_argument("--conversations", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/scoring_speed.json"))
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    positions = list(POSITION_WINDOWS)[:args.statements]
    chars = max(LONG_MIN_CHARS, args.tokens * CHARS_PER_TOKEN)
    messages, stances, _ = generate_long(args.seed, args.conversations, chars, args.contributors, positions)
    tokenizer, model = load_model(args.model, args.adapter)
    rows = []
    for conversation_id in dict.fromkeys(m["conversation_id"] for m in messages):
        rows += thread_rows([m for m in messages if m["conversation_id"] == conversation_id],
                            [s for s in stances if s["conversation_id"] == conversation_id], tokenizer, args.tokens)
    prompt_tokens = [len(tokenizer.apply_chat_template(r["messages"], add_generation_prompt=True, return_dict=False))
                     for r in rows]

    torch.manual_seed(0)
    for mode in ("loglik", "generate"):  # warm-up: the first forward pass initialises kernels (~20 s on CPU)
        predict(tokenizer, model, rows[:1], mode=mode, max_new_tokens=1)
    cached, cached_s, cached_cpu = timed(predict, tokenizer, model, rows, mode="loglik", batch_size=args.batch_size)
    generated, generated_s, generated_cpu = timed(predict, tokenizer, model, rows, mode="generate",
                                                  max_new_tokens=args.max_new_tokens)
    cached_decisions = [p["prediction"] for p in cached]
    uncached_decisions = ["yes" if p["p_yes"] >= 0.5 else "no" for p in generated]
    results = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {"device": str(model.device), "torch_threads": torch.get_num_threads(),
                    "processor": platform.processor() or platform.machine()},
        "conversations": args.conversations, "questions": len(rows),
        "prompt_tokens": {"min": min(prompt_tokens), "max": max(prompt_tokens),
                          "mean": round(sum(prompt_tokens) / len(prompt_tokens), 1)},
        "seconds": {"prefix_cached_loglik": round(cached_s, 2), "per_question_generation": round(generated_s, 2)},
        "cpu_seconds": {"prefix_cached_loglik": round(cached_cpu, 2), "per_question_generation": round(generated_cpu, 2)},
        "speed_ratio": round(generated_s / cached_s, 2),
        "cpu_speed_ratio": round(generated_cpu / cached_cpu, 2),
        "decision_agreement": {
            "cached_loglik_vs_generated_answer": agreement(cached_decisions, [p["prediction"] for p in generated]),
            "cached_vs_uncached_loglik": agreement(cached_decisions, uncached_decisions),
        },
        "generated_invalid": sum(p["prediction"] == "[invalid]" for p in generated),
        "max_abs_p_yes_difference_cached_vs_uncached": max(abs(c["p_yes"] - g["p_yes"]) for c, g in zip(cached, generated)),
        "predicted_yes": {"cached_loglik": cached_decisions.count("yes"),
                          "generated": sum(p["prediction"] == "yes" for p in generated)},
    }
    results["manifest"] = manifest(vars(args) | {"out": None})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    return results


def markdown(results: dict) -> str:
    s, c, agree = results["seconds"], results["cpu_seconds"], results["decision_agreement"]
    return "\n".join([
        "# Scoring speed: prefix-cached log-likelihood vs per-question generation", "",
        f"Command: `python -m bench.scoring_speed {' '.join(f'--{k.replace(chr(95), chr(45))} {v}' for k, v in results['settings'].items() if v is not None)}`",
        f"Machine: {results['machine']['device']}, {results['machine']['torch_threads']} torch threads. CPU seconds "
        "are this process's own, so other load on a shared machine inflates only the wall times.", "",
        "| conversations | questions | prompt tokens (mean) | cached s (CPU s) | generation s (CPU s) | speed ratio (CPU) | agreement vs generated answer | agreement vs uncached P(yes) | max abs dP(yes) | generated invalid |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {results['conversations']} | {results['questions']} | {results['prompt_tokens']['mean']} | {s['prefix_cached_loglik']} "
        f"({c['prefix_cached_loglik']}) | {s['per_question_generation']} ({c['per_question_generation']}) "
        f"| {results['speed_ratio']}x ({results['cpu_speed_ratio']}x) | {agree['cached_loglik_vs_generated_answer']:.4f} "
        f"| {agree['cached_vs_uncached_loglik']:.4f} | {results['max_abs_p_yes_difference_cached_vs_uncached']:.2e} "
        f"| {results['generated_invalid']} |", "",
        f"Questions answered yes: {results['predicted_yes']['cached_loglik']} (cached P(yes) >= 0.5), "
        f"{results['predicted_yes']['generated']} (generated). Agreement of decisions is weak evidence when one "
        "answer dominates; the largest P(yes) difference between the cached and the uncached pass is the "
        "direct check that the shared cache changes nothing.", "",
    ])


if __name__ == "__main__":
    main()
