"""Score prepared pairs with a causal LM (+ optional LoRA adapter) by label log-likelihood.

    python -m eval.predict --model models/smollm2-135m-instruct --adapter runs/smollm2_cpu/adapter \\
        --data data/prepared/demo/test.jsonl --out runs/smollm2_cpu/predictions.jsonl

P(yes) = p(yes-variants) / (p(yes-variants) + p(no-variants)) at the first answer position:
one forward pass, no sampling. Pairs that share a context (same `meta.context_id`) share a
token prefix; it is run once and its KV cache reused for each pair's question.
"""

from __future__ import annotations

import argparse
import json
from itertools import groupby
from pathlib import Path

import torch
from tqdm import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

ANSWER_VARIANTS = {"yes": ("yes", "Yes", "YES", " yes", " Yes"), "no": ("no", "No", "NO", " no", " No")}


def load_model(model_path: str, adapter: str | None = None):
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return tokenizer, model.to(device).eval()


def answer_token_ids(tokenizer) -> dict[str, list[int]]:
    """Single-token spellings of each answer (multi-token spellings cannot be read in one step)."""
    ids = {}
    for answer, variants in ANSWER_VARIANTS.items():
        encoded = [tokenizer.encode(v, add_special_tokens=False) for v in variants]
        ids[answer] = sorted({e[0] for e in encoded if len(e) == 1})
        if not ids[answer]:
            raise ValueError(f"the tokenizer has no single-token spelling of {answer!r}")
    return ids


def prompt_ids(tokenizer, row: dict) -> list[int]:
    prompt = [m for m in row["messages"] if m["role"] != "assistant"]
    return list(tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True, return_dict=False))


def common_prefix_length(sequences: list[list[int]]) -> int:
    shortest = min(len(s) for s in sequences)
    for i in range(shortest):
        if any(s[i] != sequences[0][i] for s in sequences[1:]):
            return i
    return shortest - 1  # leave at least one token per sequence to read its next-token logits


@torch.inference_mode()
def score_group(model, sequences: list[list[int]], answer_ids: dict[str, list[int]]) -> list[dict]:
    """Run the group's shared prefix once, then each remainder against a cropped copy of its cache."""
    device = model.device
    prefix_len = common_prefix_length(sequences)
    cache = None
    if prefix_len:
        cache = model(torch.tensor([sequences[0][:prefix_len]], device=device), use_cache=True).past_key_values
    scores = []
    for sequence in sequences:
        rest = torch.tensor([sequence[prefix_len:]], device=device)
        logits = model(rest, past_key_values=cache, use_cache=cache is not None).logits[0, -1].float()
        if cache is not None:
            cache.crop(-rest.shape[1])  # back to the shared prefix
        logprobs = torch.log_softmax(logits, dim=-1)
        mass = {a: torch.logsumexp(logprobs[ids], dim=0).item() for a, ids in answer_ids.items()}
        p_yes = torch.softmax(torch.tensor([mass["yes"], mass["no"]]), dim=0)[0].item()
        scores.append({"p_yes": p_yes, "logprob_yes": mass["yes"], "logprob_no": mass["no"]})
    return scores


def predict(tokenizer, model, rows: list[dict], threshold: float = 0.5) -> list[dict]:
    answer_ids = answer_token_ids(tokenizer)
    predictions = []
    ordered = sorted(rows, key=lambda r: r["meta"]["context_id"])
    groups = [list(g) for _, g in groupby(ordered, key=lambda r: r["meta"]["context_id"])]
    for group in tqdm(groups, desc="contexts", unit="ctx"):
        scores = score_group(model, [prompt_ids(tokenizer, r) for r in group], answer_ids)
        for row, score in zip(group, scores):
            meta = row["meta"]
            predictions.append({
                "conversation_id": meta["conversation_id"], "statement_id": meta["statement_id"],
                "contributor": meta["contributor"], "gold": meta["label"], "context_id": meta["context_id"],
                **score, "prediction": "yes" if score["p_yes"] >= threshold else "no", "mode": "loglik",
            })
    return predictions


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: str | Path, rows: list[dict]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--adapter", help="LoRA adapter folder; omit for zero-shot")
    parser.add_argument("--data", required=True, type=Path, help="prepared JSONL (prep.build output)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--threshold", type=float, default=0.5, help="decision threshold on P(yes)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    tokenizer, model = load_model(args.model, args.adapter)
    predictions = predict(tokenizer, model, read_jsonl(args.data), args.threshold)
    write_jsonl(args.out, predictions)
    print(f"{len(predictions)} predictions -> {args.out}")


if __name__ == "__main__":
    main()
