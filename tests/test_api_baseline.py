"""Zero-shot API baseline against a real local OpenAI-compatible server (llama-cpp-python's,
serving the bundled SmolLM2 GGUF), started and stopped here."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time

import httpx
import openai
import pytest
import yaml

from core.cli import UserError
from eval import api_baseline, score
from eval.parse import parse_answer
from prep import build
from prep.default_model import gguf_path

KEY_ENV = "STANCE_TEST_API_KEY"
STARTUP_S = 120
PRICES = {"input": 1.0, "output": 2.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The server on a free loopback port, requiring a random key; always stopped."""
    key, port = secrets.token_hex(16), free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--model_alias", "smollm2",
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--api_key", key],
            stdout=handle, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base_url}/models", headers={"Authorization": f"Bearer {key}"}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer within {STARTUP_S} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"base_url": base_url, "key": key}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def setup(server, tiny_tables, model_dir, tmp_path, monkeypatch):
    messages, stances = tiny_tables
    build.main(["--messages", str(messages), "--stances", str(stances), "--tokenizer", str(model_dir),
                "--strategy", "full", "--sequence-len", "1024", "--split", "0,0,1", "--out", str(tmp_path / "prepared")])
    config = {"model": "smollm2", "base_url": server["base_url"], "api_key_env": KEY_ENV, "temperature": 0,
              "max_tokens": 5, "max_concurrency": 2, "max_retries": 2, "timeout_s": 120,
              "price_per_million_tokens": PRICES, "cache_dir": str(tmp_path / "cache")}
    (tmp_path / "api.yml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv(KEY_ENV, server["key"])
    args = ["--config", str(tmp_path / "api.yml"), "--data", str(tmp_path / "prepared" / "test.jsonl"),
            "--out", str(tmp_path / "run" / "predictions.jsonl")]
    return {"args": args, "run": tmp_path / "run", "root": tmp_path, "key": server["key"]}


def test_zero_shot_run_is_parsed_counted_cached_and_keeps_the_key_secret(setup, capsys):
    predictions, usage = api_baseline.main(setup["args"])
    assert len(predictions) == 5 and all(p["mode"] == "api" for p in predictions)
    assert all(p["prediction"] == parse_answer(p["raw"]) for p in predictions)
    assert usage["invalid"] == sum(p["prediction"] == "[invalid]" for p in predictions)
    fresh = usage["fresh"]
    assert fresh["requests"] == 5 and usage["cached"]["requests"] == 0
    assert fresh["prompt_tokens"] == sum(p["tokens"]["prompt"] for p in predictions) > 5 * 100
    assert fresh["completion_tokens"] == sum(p["tokens"]["completion"] for p in predictions) > 0
    expected_cost = (fresh["prompt_tokens"] * PRICES["input"] + fresh["completion_tokens"] * PRICES["output"]) / 1e6
    assert fresh["cost_usd"] == pytest.approx(expected_cost, abs=1e-6)
    assert json.loads((setup["run"] / "api_usage.json").read_text()) == usage

    again, usage_again = api_baseline.main(setup["args"])  # every answer now comes from the cache
    assert usage_again["fresh"]["requests"] == 0 and usage_again["cached"]["requests"] == 5
    assert usage_again["cached"]["prompt_tokens"] == fresh["prompt_tokens"]
    assert [p["raw"] for p in again] == [p["raw"] for p in predictions] and all(p["cached"] for p in again)

    metrics = score.main(["--predictions", str(setup["run"] / "predictions.jsonl")])
    assert metrics["modes"] == ["api"] and metrics["n"] == 5 and metrics["calibration"] is None

    captured = capsys.readouterr()
    written = [f.read_text() for f in setup["root"].rglob("*") if f.is_file() and f.suffix in (".json", ".jsonl", ".md", ".yml")]
    assert all(setup["key"] not in text for text in [captured.out, captured.err, *written])


def test_a_wrong_key_is_refused_by_the_server(setup, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "not-the-key")
    with pytest.raises(openai.AuthenticationError):
        api_baseline.main(setup["args"])


def test_a_missing_key_names_the_variable(setup, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(UserError, match=KEY_ENV):
        api_baseline.main(setup["args"])
