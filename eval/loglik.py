"""P(yes) from label-token log-probabilities, with the shared prefix run once per context.

Every question about one context shares a token prefix (system prompt, instructions,
conversation) and differs only in its last few dozen tokens. The prefix is run once; its KV
cache then serves all the questions, packed into one sequence per batch: each question's
tokens attend to the prefix and to themselves (a block-diagonal causal mask, positions
restarting after the prefix), never to the other questions. Memory stays at one prefix
plus the batch's question tokens, however many questions share it; logits are computed only
at each question's last token.

P(yes) = p(yes-variants) / (p(yes-variants) + p(no-variants)) at the first answer position.
"""

from __future__ import annotations

import torch

from core.cli import UserError

ANSWER_VARIANTS = {"yes": ("yes", "Yes", "YES", " yes", " Yes"), "no": ("no", "No", "NO", " no", " No")}


def answer_token_ids(tokenizer) -> dict[str, list[int]]:
    """Single-token spellings of each answer (multi-token spellings cannot be read in one step)."""
    ids = {}
    for answer, variants in ANSWER_VARIANTS.items():
        encoded = [tokenizer.encode(v, add_special_tokens=False) for v in variants]
        ids[answer] = sorted({e[0] for e in encoded if len(e) == 1})
        if not ids[answer]:
            raise UserError(f"the tokenizer has no single-token spelling of {answer!r}")
    return ids


def prompt_ids(tokenizer, row: dict) -> list[int]:
    prompt = [m for m in row["messages"] if m["role"] != "assistant"]
    return list(tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True, return_dict=False))


def answer_scores(logits: torch.Tensor, answer_ids: dict[str, list[int]]) -> list[dict]:
    """Next-token logits (n, vocab) -> P(yes) and the log-mass of each answer's variants."""
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    mass = {a: torch.logsumexp(logprobs[:, ids], dim=-1) for a, ids in answer_ids.items()}
    p_yes = torch.sigmoid(mass["yes"] - mass["no"])
    return [{"p_yes": p.item(), "logprob_yes": y.item(), "logprob_no": n.item()}
            for p, y, n in zip(p_yes, mass["yes"], mass["no"])]


def common_prefix_length(sequences: list[list[int]]) -> int:
    shortest = min(len(s) for s in sequences)
    for i in range(shortest):
        if any(s[i] != sequences[0][i] for s in sequences[1:]):
            return i
    return shortest - 1  # leave at least one token per sequence to read its next-token logits


def packed_inputs(suffixes: list[list[int]], prefix_len: int, dtype: torch.dtype, device) -> dict:
    """One sequence of all suffixes; each attends to the prefix and causally to itself only."""
    lengths = torch.tensor([len(s) for s in suffixes])
    total = int(lengths.sum())
    block = torch.repeat_interleave(torch.arange(len(suffixes)), lengths)
    offset = torch.cat([torch.arange(n) for n in lengths.tolist()])
    visible = (block[:, None] == block[None, :]) & (offset[:, None] >= offset[None, :])
    allowed = torch.cat([torch.ones(total, prefix_len, dtype=torch.bool), visible], dim=1)
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
    return {
        "input_ids": torch.tensor([[t for s in suffixes for t in s]], device=device),
        "position_ids": (prefix_len + offset)[None].to(device),
        "attention_mask": mask[None, None].to(device),
        "logits_to_keep": (torch.cumsum(lengths, 0) - 1).to(device),
    }


@torch.inference_mode()
def score_group(model, sequences: list[list[int]], answer_ids: dict[str, list[int]], batch_size: int = 8) -> list[dict]:
    """Scores of sequences that share a prefix: the prefix once, then `batch_size` suffixes per pass."""
    prefix_len = common_prefix_length(sequences)
    cache = model(torch.tensor([sequences[0][:prefix_len]], device=model.device), use_cache=True,
                  logits_to_keep=1).past_key_values
    scores = []
    for start in range(0, len(sequences), batch_size):
        suffixes = [s[prefix_len:] for s in sequences[start:start + batch_size]]
        inputs = packed_inputs(suffixes, prefix_len, model.dtype, model.device)
        logits = model(**inputs, past_key_values=cache, use_cache=True).logits[0]
        cache.crop(-inputs["input_ids"].shape[1])  # back to the shared prefix
        scores.extend(answer_scores(logits, answer_ids))
    return scores


@torch.inference_mode()
def score_alone(model, sequence: list[int], answer_ids: dict[str, list[int]]) -> dict:
    """One sequence with no cache: the reference that prefix-cached scoring must reproduce."""
    logits = model(torch.tensor([sequence], device=model.device), logits_to_keep=1).logits[0]
    return answer_scores(logits, answer_ids)[0]
