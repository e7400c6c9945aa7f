"""Message languages: offline detection, optional Traditional -> Simplified, optional translation.

Detection is lingua's, restricted to the languages of the target use (English, Chinese, Malay,
Tamil): restricting the candidates makes it fast (CSD's 5,880 comments in about 0.1 s) and
keeps Singlish from being read as another Latin-script language. Texts with no letters
("👍") are 'und'. Each message is detected once; a plain-ASCII text can only be English or Malay
(the others need their scripts), and its first `ASCII_SAMPLE` characters decide which: lingua's
work grows with the text, and a forum post runs to thousands of characters. Conversations are
detected on worker processes (`prep.parallel`), each with lingua's single-threaded call: its
parallel call starts a thread pool that a forked worker cannot use.

Translation (off by default) sends every message not detected as the target language to an
OpenAI-compatible endpoint (`prep.summarise.OpenAIBackend`) and caches the answers in one JSON
file keyed by SHA-256 of (model, target, text), so a re-run makes no calls. It runs after
anonymisation: no name or identifier leaves the machine. With it a run can train an
English-only model on multilingual data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections import Counter
from functools import cache
from pathlib import Path

from core.cli import UserError
from prep import parallel
from prep.tables import SPLIT_NAMES

CODES = {"ENGLISH": "en", "CHINESE": "zh", "MALAY": "ms", "TAMIL": "ta"}
UNDETERMINED = "und"
TRANSLATION_REQUEST = ("Translate this message from a public online discussion into {target}. Keep names, "
                       "placeholders such as <URL> and tone as they are. Reply with the translation only.\n\n{text}")
TARGET_NAMES = {"en": "English", "zh": "Simplified Chinese"}
ASCII_SAMPLE = 300  # characters; on generated long threads the whole text gave the same answer for every ASCII message


@cache
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(*(getattr(Language, name) for name in CODES)).build()


def detect(texts: list[str]) -> list[str]:
    """ISO 639-1 code per text ('und' when no language can be told)."""
    detector = _detector()
    found = (detector.detect_language_of(text[:ASCII_SAMPLE] if text.isascii() else text) for text in texts)
    return [CODES[language.name] if language is not None else UNDETERMINED for language in found]


@cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _converter().convert(text)


class Translator:
    """text -> text in `target`, through an OpenAI-compatible backend, cached in one JSON file."""

    def __init__(self, backend, cache_path: str | Path, target: str = "en", max_tokens: int = 512):
        self.backend, self.cache_path, self.target, self.max_tokens = backend, Path(cache_path), target, max_tokens
        self.cache = json.loads(self.cache_path.read_text(encoding="utf-8")) if self.cache_path.exists() else {}
        self.calls = 0  # backend calls made (cache misses)

    def __call__(self, text: str) -> str:
        key = hashlib.sha256(json.dumps([self.backend.model, self.target, text], ensure_ascii=False).encode()).hexdigest()
        if key not in self.cache:
            request = TRANSLATION_REQUEST.format(target=TARGET_NAMES.get(self.target, self.target), text=text)
            self.cache[key] = self.backend.generate(request, self.max_tokens).strip()
            self.calls += 1
        return self.cache[key]

    def save(self) -> None:
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.cache_path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(self.cache, ensure_ascii=False, sort_keys=True, indent=0), encoding="utf-8")
        partial.replace(self.cache_path)  # atomic: a killed run never leaves half a cache


def _label(to_simplified_chinese: bool, texts: list[str]) -> tuple[list[str], list[str]]:
    """One conversation's languages, and its texts with Chinese converted to Simplified if asked."""
    languages = detect(texts)
    if to_simplified_chinese:
        texts = [to_simplified(t) if language == "zh" else t for t, language in zip(texts, languages)]
    return languages, texts


def process(messages: list[dict], to_simplified_chinese: bool = False, translator: Translator | None = None,
            workers: int = 1) -> dict:
    """Detect each message's language (kept as `language`, of the original text), then optionally
    convert Chinese to Simplified and translate; returns counts for the report."""
    by_conversation = {}
    for message in messages:
        by_conversation.setdefault(message["conversation_id"], []).append(message)
    tasks = ([m["text"] for m in group] for group in by_conversation.values())
    results = parallel.ordered_map(_label, to_simplified_chinese, tasks, workers,
                                   {"desc": "languages", "unit": " messages", "total": len(messages)},
                                   map(len, by_conversation.values()))
    converted = translated = 0
    for group, (languages, texts) in zip(by_conversation.values(), results):
        for message, language, text in zip(group, languages, texts):
            converted += text != message["text"]
            message["language"], message["text"] = language, text
    for message in messages:
        if translator is not None and message["language"] not in (translator.target, UNDETERMINED):
            message["text"] = translator(message["text"])
            translated += 1
    if translator is not None:
        translator.save()
    return {"to_simplified": to_simplified_chinese, "converted_to_simplified": converted,
            "translate_to": translator.target if translator else None, "translated": translated,
            "translation_calls": translator.calls if translator else 0}


def language_stats(messages: list[dict], assignment: dict[str, str]) -> dict[str, dict]:
    """Per split: messages by detected language and the share in Chinese."""
    by_split = {}
    for message in messages:
        split = assignment.get(message["conversation_id"])
        if split is not None:
            by_split.setdefault(split, Counter())[message["language"]] += 1
    return {split: {"messages": sum(counts.values()), "languages": dict(sorted(counts.items())),
                    "share_zh": round(counts["zh"] / sum(counts.values()), 4)}
            for split, counts in sorted(by_split.items(), key=lambda item: SPLIT_NAMES.index(item[0]))}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("languages")
    group.add_argument("--to-simplified", action="store_true", help="convert Traditional Chinese messages to Simplified (OpenCC t2s)")
    group.add_argument("--translate-to", choices=sorted(TARGET_NAMES), help="translate other-language messages (off by default)")
    group.add_argument("--translate-model", help="the endpoint's model name")
    group.add_argument("--translate-base-url", help="OpenAI-compatible endpoint (default: the client's)")
    group.add_argument("--translate-api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key")
    group.add_argument("--translation-cache", type=Path, default=Path("data/prepared/translation-cache.json"))


def translator_from_args(args: argparse.Namespace) -> Translator | None:
    if not args.translate_to:
        return None
    if not args.translate_model:
        raise UserError("--translate-to needs --translate-model (the endpoint's model name)")
    from prep.summarise import OpenAIBackend

    backend = OpenAIBackend(args.translate_model, args.translate_base_url, args.translate_api_key_env)
    return Translator(backend, args.translation_cache, args.translate_to)
