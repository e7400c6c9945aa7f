"""Greedy generation per question, answer parsed from the text: the mode a chat model is used in.

Each question runs on its own full prompt (no shared cache), so it is also the baseline that
prefix-cached scoring is measured against (bench/scoring_speed.py). P(yes) is read from the
first generated position's logits, the same quantity `eval.loglik` computes.
"""

from __future__ import annotations

import torch

from eval.loglik import answer_scores
from eval.parse import parse_answer


@torch.inference_mode()
def generate_answer(model, tokenizer, sequence: list[int], answer_ids: dict[str, list[int]],
                    max_new_tokens: int = 4) -> dict:
    out = model.generate(torch.tensor([sequence], device=model.device), max_new_tokens=max_new_tokens, do_sample=False,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         output_logits=True, return_dict_in_generate=True)
    raw = tokenizer.decode(out.sequences[0, len(sequence):], skip_special_tokens=True)
    return {"raw": raw, "prediction": parse_answer(raw), **answer_scores(out.logits[0], answer_ids)[0]}
