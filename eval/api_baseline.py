"""Zero-shot baseline through an OpenAI-compatible chat API (GPT-4o in production).

    OPENAI_API_KEY=... python -m eval.api_baseline --config eval/configs/gpt-4o.yml \\
        --data data/prepared/demo/test.jsonl --out runs/gpt-4o/predictions.jsonl

The prompt is the prepared row's user turn, as for the local models. Temperature 0; the
official client retries with exponential backoff; at most `max_concurrency` requests are in
flight. Every answer is cached on disk under the hash of its full request, so a rerun (or a
run stopped half-way) pays only for what it has not asked yet. Tokens and cost are counted
for fresh and cached answers separately (api_usage.json). The key comes from the environment
variable the config names and is never logged or written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from openai import OpenAI
from tqdm import tqdm

from core.cli import UserError, run_cli
from core.jsonl import read_jsonl, write_jsonl
from core.runs import prediction_row, question_meta
from eval.parse import parse_answer


@dataclass(frozen=True)
class ApiConfig:
    model: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 5
    max_concurrency: int = 8
    max_retries: int = 6
    timeout_s: float = 60.0
    price_input: float = 0.0  # USD per million tokens
    price_output: float = 0.0
    cache_dir: str = "runs/.api_cache"

    @classmethod
    def load(cls, path: Path, **overrides) -> ApiConfig:
        if not Path(path).is_file():
            raise UserError(f"{path}: config file not found")
        raw = yaml.safe_load(Path(path).read_text()) or {}
        prices = raw.pop("price_per_million_tokens", {}) or {}
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise UserError(f"{path}: unknown setting(s) {sorted(unknown)}")
        raw.update({"price_input": prices.get("input", 0.0), "price_output": prices.get("output", 0.0)})
        raw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**raw)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.price_input + completion_tokens * self.price_output) / 1e6


class ResponseCache:
    """One JSON file per request, named by the SHA-256 of the request."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    @staticmethod
    def key(request: dict) -> str:
        return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        path = self.path(key)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def put(self, key: str, answer: dict) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_text(json.dumps(answer, ensure_ascii=False), encoding="utf-8")
        partial.replace(path)  # atomic: a crash never leaves half an answer


def make_client(config: ApiConfig) -> OpenAI:
    key = os.environ.get(config.api_key_env)
    if not key:
        raise UserError(f"set the API key in the environment variable {config.api_key_env}")
    return OpenAI(api_key=key, base_url=config.base_url, max_retries=config.max_retries, timeout=config.timeout_s)


def request_for(row: dict, config: ApiConfig) -> dict:
    messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"] if m["role"] != "assistant"]
    return {"model": config.model, "messages": messages, "temperature": config.temperature, "max_tokens": config.max_tokens}


def answer(client: OpenAI, cache: ResponseCache, config: ApiConfig, row: dict) -> tuple[dict, bool]:
    """(answer, fresh): from the cache, or asked and then cached."""
    request = request_for(row, config)
    key = ResponseCache.key({**request, "base_url": config.base_url})
    cached = cache.get(key)
    if cached is not None:
        return cached, False
    response = client.chat.completions.create(**request)
    usage = response.usage
    result = {"text": response.choices[0].message.content or "", "model": response.model,
              "prompt_tokens": usage.prompt_tokens if usage else 0,
              "completion_tokens": usage.completion_tokens if usage else 0}
    cache.put(key, result)
    return result, True


def run(rows: list[dict], config: ApiConfig, client: OpenAI) -> tuple[list[dict], dict]:
    cache = ResponseCache(config.cache_dir)
    metas = [question_meta(row) for row in rows]
    with ThreadPoolExecutor(max_workers=config.max_concurrency) as pool:
        results = list(tqdm(pool.map(lambda row: answer(client, cache, config, row), rows),
                            total=len(rows), desc="questions", unit="q"))
    predictions = [prediction_row(meta, "api", parse_answer(result["text"]), raw=result["text"], cached=not fresh,
                                  tokens={"prompt": result["prompt_tokens"], "completion": result["completion_tokens"]})
                   for meta, (result, fresh) in zip(metas, results)]
    usage = {"model": config.model, "requests": len(rows)}
    for label, selected in (("fresh", [r for r, fresh in results if fresh]), ("cached", [r for r, fresh in results if not fresh])):
        prompt_tokens = sum(r["prompt_tokens"] for r in selected)
        completion_tokens = sum(r["completion_tokens"] for r in selected)
        usage[label] = {"requests": len(selected), "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                        "cost_usd": round(config.cost(prompt_tokens, completion_tokens), 6)}
    usage["invalid"] = sum(p["prediction"] == "[invalid]" for p in predictions)
    return predictions, usage


def main(argv: list[str] | None = None) -> tuple[list[dict], dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--data", required=True, type=Path, help="prepared JSONL (prep.build output)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--model", help="override the config's model")
    parser.add_argument("--base-url", help="override the config's base_url")
    parser.add_argument("--cache-dir", help="override the config's cache_dir")
    args = parser.parse_args(argv)
    config = ApiConfig.load(args.config, model=args.model, base_url=args.base_url, cache_dir=args.cache_dir)
    predictions, usage = run(read_jsonl(args.data), config, make_client(config))
    write_jsonl(args.out, predictions)
    (args.out.parent / "api_usage.json").write_text(json.dumps(usage, indent=2) + "\n")
    settings = {**asdict(config), "data": str(args.data), "config": str(args.config), "mode": "api"}
    (args.out.parent / "run.json").write_text(json.dumps(settings, indent=2) + "\n")
    print(f"{len(predictions)} predictions -> {args.out}; {usage['fresh']['requests']} asked "
          f"(${usage['fresh']['cost_usd']:.4f}), {usage['cached']['requests']} from the cache, {usage['invalid']} invalid")
    return predictions, usage


if __name__ == "__main__":
    run_cli(main)
