"""LLM summaries of earlier messages for the summarise strategy, cached on disk by content hash.

Two backends behind one method, `generate(request, max_tokens) -> str`:
    openai        any OpenAI-compatible endpoint through the official client; base URL and
                  model from the command line, the key from an environment variable
    transformers  a local causal LM with its chat template, greedy decoding (do_sample=False)

A summary is stored under the SHA-256 of (backend, model, request, max_tokens), so re-running
prep, or another setting that needs the same summary, does not call the model again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from functools import cached_property
from pathlib import Path

from core.cli import UserError
from prep import prompt

BACKENDS = ("transformers", "openai")
DEFAULT_CACHE = Path("data/prepared/summary-cache")


class OpenAIBackend:
    name = "openai"

    def __init__(self, model: str, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY"):
        from openai import OpenAI

        key = os.environ.get(api_key_env)
        if not key:
            raise UserError(f"the openai summariser reads its API key from ${api_key_env}, which is not set")
        self.model = model
        self.client = OpenAI(base_url=base_url, api_key=key)

    def generate(self, request: str, max_tokens: int) -> str:
        response = self.client.chat.completions.create(
            model=self.model, messages=[{"role": "user", "content": request}], max_tokens=max_tokens, temperature=0)
        return response.choices[0].message.content or ""


class TransformersBackend:
    """Loads the model on the first summary it has to write: a fully cached run never loads it."""

    name = "transformers"

    def __init__(self, model: str):
        self.model = str(model)

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.model)

    @cached_property
    def lm(self):
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(self.model).eval()

    def generate(self, request: str, max_tokens: int) -> str:
        import torch

        inputs = self.tokenizer.apply_chat_template([{"role": "user", "content": request}], add_generation_prompt=True,
                                                    return_tensors="pt", return_dict=True)
        with torch.inference_mode():
            output = self.lm.generate(**inputs, max_new_tokens=max_tokens, do_sample=False,
                                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        return self.tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


class Summariser:
    """Message lines -> one-line summary, through a backend, cached by content hash."""

    def __init__(self, backend, cache_dir: str | Path = DEFAULT_CACHE, max_tokens: int = 128):
        self.backend, self.cache_dir, self.max_tokens = backend, Path(cache_dir), max_tokens
        self.calls = 0  # backend calls made (cache misses)

    def __call__(self, lines: list[str]) -> str:
        request = prompt.SUMMARY_REQUEST.format(messages="\n".join(lines))
        key = hashlib.sha256(json.dumps([self.backend.name, self.backend.model, request, self.max_tokens],
                                        ensure_ascii=False).encode()).hexdigest()
        path = self.cache_dir / key[:2] / f"{key}.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))["summary"]
        summary = prompt.one_line(self.backend.generate(request, self.max_tokens))
        self.calls += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"backend": self.backend.name, "model": self.backend.model,
                                       "summary": summary}, ensure_ascii=False), encoding="utf-8")
        partial.replace(path)  # atomic: a concurrent or killed run never leaves half a file
        return summary

    def describe(self) -> dict:
        return {"backend": self.backend.name, "model": self.backend.model, "max_tokens": self.max_tokens,
                "cache": str(self.cache_dir)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("summarise strategy")
    group.add_argument("--summariser", choices=BACKENDS, default="transformers")
    group.add_argument("--summariser-model",
                       help="local model folder, or the endpoint's model name (default: --tokenizer)")
    group.add_argument("--summariser-base-url", help="OpenAI-compatible endpoint (default: the client's)")
    group.add_argument("--summariser-api-key-env", default="OPENAI_API_KEY",
                       help="environment variable holding the key")
    group.add_argument("--summary-cache", type=Path, default=DEFAULT_CACHE)
    group.add_argument("--summary-max-tokens", type=int, default=128, help="longest summary the model may write")


def from_args(args: argparse.Namespace) -> Summariser:
    model = args.summariser_model or args.tokenizer
    backend = (OpenAIBackend(model, args.summariser_base_url, args.summariser_api_key_env)
               if args.summariser == "openai" else TransformersBackend(model))
    return Summariser(backend, args.summary_cache, args.summary_max_tokens)
