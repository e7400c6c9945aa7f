"""A model folder's tokenizer and chat template, without transformers (and so without torch).

prep needs token counts and the rendered chat template, not a model. `tokenizers` reads the
folder's tokenizer.json and jinja2 renders its chat template the way transformers'
`apply_chat_template` does (sandboxed, trim_blocks, lstrip_blocks, loop controls, transformers'
`tojson`, the special tokens as variables), then the text is encoded without added special
tokens, as transformers does; tests/test_tokens.py checks the ids against transformers. The
template comes from chat_template.jinja, else from tokenizer_config.json.

A folder without tokenizer.json (a SentencePiece tokenizer.model only) or a hub model name
goes through transformers once, which converts it; a folder written by `save_pretrained`
(prep.default_model, prep.mistral_tokenizer) holds tokenizer.json and loads directly.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property
from pathlib import Path

from tokenizers import Tokenizer

from core.cli import UserError

SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


class ChatTokenizer:
    def __init__(self, backend: Tokenizer, chat_template: str, special_tokens: dict[str, str]):
        self.backend, self.chat_template, self.special_tokens = backend, chat_template, special_tokens

    @property
    def eos_token(self) -> str | None:
        return self.special_tokens.get("eos_token")

    @cached_property
    def template(self):
        from jinja2 import TemplateError
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message):
            raise TemplateError(message)

        environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        environment.filters["tojson"] = _tojson
        environment.globals["raise_exception"] = raise_exception
        environment.globals["strftime_now"] = lambda format: datetime.now().strftime(format)
        return environment.from_string(self.chat_template)

    def render(self, messages: list[dict], add_generation_prompt: bool = False) -> str:
        return self.template.render(messages=messages, add_generation_prompt=add_generation_prompt, **self.special_tokens)

    def apply_chat_template(self, messages: list[dict], add_generation_prompt: bool = False) -> list[int]:
        return self.backend.encode(self.render(messages, add_generation_prompt), add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.backend.decode(ids, skip_special_tokens=False)


def _tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False) -> str:
    """transformers' tojson: no HTML escaping, json.dumps' options."""
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _token_text(value) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken dict."""
    return value.get("content") if isinstance(value, dict) else value


def _named_template(template) -> str | None:
    """tokenizer_config.json's chat_template: one string, or a list of named ones ('default' is used)."""
    if isinstance(template, list):
        return next((t["template"] for t in template if t.get("name") == "default"), None)
    return template


def _from_folder(folder: Path) -> ChatTokenizer:
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    template_path = folder / "chat_template.jinja"
    template = template_path.read_text(encoding="utf-8") if template_path.is_file() else _named_template(
        config.get("chat_template"))
    special = {name: _token_text(config[name]) for name in SPECIAL_TOKENS if config.get(name)}
    return ChatTokenizer(Tokenizer.from_file(str(folder / "tokenizer.json")), template, special)


def _through_transformers(name: str) -> ChatTokenizer:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except OSError as error:  # not a model folder, nor a model in the local cache
        raise UserError(f"--tokenizer {name}: {error}") from None
    if not tokenizer.is_fast:
        raise UserError(f"--tokenizer {name}: transformers could not convert it to a fast tokenizer "
                        "(save it with save_pretrained to get a tokenizer.json)")
    return ChatTokenizer(tokenizer.backend_tokenizer, tokenizer.chat_template, dict(tokenizer.special_tokens_map))


def load(name: str | Path) -> ChatTokenizer:
    """The tokenizer of a model folder (or a hub name in the local cache), with its chat template."""
    folder = Path(name)
    tokenizer = _from_folder(folder) if (folder / "tokenizer.json").is_file() else _through_transformers(str(name))
    if not tokenizer.chat_template:
        raise UserError(f"--tokenizer {name}: no chat template (chat_template.jinja or tokenizer_config.json)")
    return tokenizer
