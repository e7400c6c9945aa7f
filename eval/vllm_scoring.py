"""P(yes) on a GPU through vLLM, whose automatic prefix caching shares each context's KV cache.

Optional backend of `eval.predict` (--backend vllm; install vLLM on the GPU machine). One
answer token is decoded with only the yes/no variants allowed, and the log-probabilities
are read after that restriction ('processed_logprobs'): a softmax over the variants alone,
which gives `eval.loglik`'s P(yes) = p(yes) / (p(yes) + p(no)); logprob_yes / logprob_no
are the log-masses within the variants, not over the whole vocabulary.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from eval.loglik import prompt_ids


def load_vllm(model_path: str, adapter: str | None = None, max_variants: int = 32):
    from vllm import LLM

    options = {"model": model_path, "enable_prefix_caching": True, "logprobs_mode": "processed_logprobs",
               "max_logprobs": max_variants}
    if adapter:
        rank = json.loads((Path(adapter) / "adapter_config.json").read_text())["r"]
        options.update(enable_lora=True, max_lora_rank=rank)
    return LLM(**options)


def score_rows(llm, tokenizer, rows: list[dict], answer_ids: dict[str, list[int]], adapter: str | None = None) -> list[dict]:
    """Scores in row order; rows of one context should be adjacent so that their prefix is reused."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.lora.request import LoRARequest

    allowed = answer_ids["yes"] + answer_ids["no"]
    params = SamplingParams(temperature=0.0, max_tokens=1, allowed_token_ids=allowed, logprobs=len(allowed))
    prompts = [TokensPrompt(prompt_token_ids=prompt_ids(tokenizer, row)) for row in rows]
    lora = LoRARequest("adapter", 1, adapter) if adapter else None
    scores = []
    for output in llm.generate(prompts, params, lora_request=lora):
        logprobs = output.outputs[0].logprobs[0]  # token id -> Logprob, over the allowed variants
        mass = {a: math.log(sum(math.exp(logprobs[i].logprob) for i in ids if i in logprobs) or math.ulp(0.0))
                for a, ids in answer_ids.items()}
        p_yes = 1.0 / (1.0 + math.exp(mass["no"] - mass["yes"]))
        scores.append({"p_yes": p_yes, "logprob_yes": mass["yes"], "logprob_no": mass["no"]})
    return scores
