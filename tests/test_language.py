"""Languages: offline detection, Traditional -> Simplified, and the cached translation hook
(against a local OpenAI-compatible endpoint on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from prep import language
from prep.summarise import OpenAIBackend

SAMPLES = {
    "Raising the withdrawal age is good lah, ensures enough for retirement.": "en",
    "Can or not just take MRT? COE prices too high sia": "en",
    "我觉得不应该提高提款年龄。": "zh",
    "全世界都搶中國疫苗，搶唔到被切換係好平常既事": "zh",
    "Saya tidak setuju dengan cadangan untuk menaikkan umur pengeluaran": "ms",
    "ஓய்வூதிய வயதை உயர்த்துவது சரியல்ல": "ta",
    "👍": "und",
}


def test_detects_the_languages_of_the_target_use():
    assert language.detect(list(SAMPLES)) == list(SAMPLES.values())


def test_traditional_to_simplified():
    assert language.to_simplified("接種科興疫苗，係咪真係安全？") == "接种科兴疫苗，系咪真系安全？"


def test_language_stats_per_split():
    messages = [{"conversation_id": c, "text": t} for c, t in
                [("a", "我同意"), ("a", "I agree with this completely"), ("b", "No way this is a good idea"), ("c", "x")]]
    counts = language.process(messages)
    stats = language.language_stats(messages, {"a": "train", "b": "test"})
    assert counts["translated"] == 0 and counts["translate_to"] is None
    assert stats == {"train": {"messages": 2, "languages": {"en": 1, "zh": 1}, "share_zh": 0.5},
                     "test": {"messages": 1, "languages": {"en": 1}, "share_zh": 0.0}}


class FakeEndpoint(BaseHTTPRequestHandler):
    """Minimal OpenAI-compatible chat completions: answers 'EN(<last line of the request>)'."""

    requests: list[str] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        request = body["messages"][-1]["content"]
        FakeEndpoint.requests.append(request)
        answer = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                  "choices": [{"index": 0, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": f"EN({request.splitlines()[-1]})"}}],
                  "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), FakeEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TEST_TRANSLATE_KEY", "local")
    FakeEndpoint.requests = []
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_translation_sends_only_other_languages_and_caches(endpoint, tmp_path):
    cache = tmp_path / "translations.json"
    messages = lambda: [{"conversation_id": "a", "text": t} for t in ("我觉得不应该提高提款年龄。", "Fully agree with the plan", "👍")]  # noqa: E731
    first = messages()
    translator = language.Translator(OpenAIBackend("fake-model", endpoint, "TEST_TRANSLATE_KEY"), cache)
    counts = language.process(first, translator=translator)
    assert [m["text"] for m in first] == ["EN(我觉得不应该提高提款年龄。)", "Fully agree with the plan", "👍"]
    assert [m["language"] for m in first] == ["zh", "en", "und"]
    assert counts["translated"] == 1 and counts["translation_calls"] == 1 and len(FakeEndpoint.requests) == 1
    again = messages()
    counts = language.process(again, translator=language.Translator(OpenAIBackend("fake-model", endpoint, "TEST_TRANSLATE_KEY"), cache))
    assert again == first and counts["translation_calls"] == 0 and len(FakeEndpoint.requests) == 1


def test_translation_is_off_by_default():
    import argparse

    parser = argparse.ArgumentParser()
    language.add_arguments(parser)
    assert language.translator_from_args(parser.parse_args([])) is None
    with pytest.raises(ValueError, match="--translate-model"):
        language.translator_from_args(parser.parse_args(["--translate-to", "en"]))


def test_a_plain_ascii_text_is_decided_on_its_first_characters():
    """English or Malay is settled on the first ASCII_SAMPLE characters; other texts are read whole."""
    english = "I fully agree that raising the withdrawal age is a sensible idea for retirement adequacy. " * 4
    malay = "Saya tidak setuju dengan cadangan untuk menaikkan umur pengeluaran wang simpanan. " * 30
    assert len(english) >= language.ASCII_SAMPLE
    assert language.detect([english + malay, english + malay + " 👍", malay]) == ["en", "ms", "ms"]


def test_languages_are_the_same_on_two_workers(demo_dir):
    messages = [json.loads(line) for line in (demo_dir / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    one, two = [dict(m) for m in messages], [dict(m) for m in messages]
    assert language.process(one, to_simplified_chinese=True) == language.process(two, to_simplified_chinese=True, workers=2)
    assert one == two and {m["language"] for m in one} >= {"en", "zh"}
