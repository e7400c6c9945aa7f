"""Window embeddings kept on disk, so that each window is embedded once across runs.

A frozen encoder gives a window the same vector in every run: the datasets cut from one
prepared folder, the window-cap curve and a re-run after an interruption all read it from here.
One SQLite file (the standard library's); a key is the SHA-1 of (model, token limit, text).
Written batch by batch, so an interrupted run keeps what it embedded.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Callable

import numpy as np

BATCH = 256  # windows embedded and committed at a time


def key(model: str, max_tokens: int, text: str) -> str:
    return hashlib.sha1(f"{model}\0{max_tokens}\0{text}".encode("utf-8")).hexdigest()


def cached_encode(path: Path | None, model: str, max_tokens: int, texts: list[str],
                  encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """encode(texts) row by row, reading and filling the cache at `path` (None: no cache)."""
    if path is None:
        return encode(texts)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    keys = [key(model, max_tokens, t) for t in texts]
    with sqlite3.connect(path, timeout=60) as db:
        db.execute("create table if not exists embedding (key text primary key, vector blob)")
        found = {}
        for start in range(0, len(keys), 900):  # SQLite's bound on query parameters
            chunk = keys[start:start + 900]
            rows = db.execute(f"select key, vector from embedding where key in ({','.join('?' * len(chunk))})", chunk)
            found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        first = {}
        for i, k in enumerate(keys):
            if k not in found:
                first.setdefault(k, i)
        missing = list(first.values())
        for start in range(0, len(missing), BATCH):
            batch = missing[start:start + BATCH]
            vectors = encode([texts[i] for i in batch]).astype(np.float32)
            db.executemany("insert or replace into embedding values (?, ?)",
                           [(keys[i], v.tobytes()) for i, v in zip(batch, vectors)])
            db.commit()
            found.update((keys[i], v) for i, v in zip(batch, vectors))
            print(f"embedded {min(start + BATCH, len(missing))} of {len(missing)} new windows "
                  f"({len(keys) - len(missing)} of {len(keys)} found)", flush=True)
    return np.stack([found[k] for k in keys])
