"""Materialise Mistral-7B-Instruct-v0.2's tokenizer as a local transformers folder, offline.

The `mistral-common` package ships Mistral's v1 SentencePiece model (data/tokenizer.model.v1,
32,000 pieces), the tokenizer of Mistral-7B v0.1 and v0.2; its sha256 is checked before use.
transformers converts it to a fast tokenizer (tokenizer.json), and the chat template renders
the v1 instruct format exactly as mistral-common encodes user and assistant turns:
`<s> [INST] user [/INST] answer</s> [INST] ...` (tests/test_mistral_tokenizer.py compares the ids).
prep and the plan use the folder wherever the runs name mistralai/Mistral-7B-Instruct-v0.2;
`materialised.json` records which model's tokenizer it is. Re-running is a no-op once complete.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

from core.cli import materialise_cli

MODEL = "mistralai/Mistral-7B-Instruct-v0.2"
DEFAULT_DIR = Path("models/mistral-7b-instruct-v0.2-tokenizer")
COMPLETE_MARKER = "materialised.json"
SOURCE = "mistral_common/data/tokenizer.model.v1"
SHA256 = "dadfd56d766715c61d2ef780a525ab43b8e6da4de6865bda3d95fdef5e134055"

# User and assistant turns only, alternating (mistral-common rejects anything else), in the
# v1 instruct format; the leading spaces become SentencePiece's '▁' as mistral-common's
# separately encoded chunks have them.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Mistral-7B-Instruct-v0.2 takes alternating user and assistant turns, user first') }}"
    "{% elif message['role'] == 'user' %}{{ ' [INST] ' + message['content'] + ' [/INST]' }}"
    "{% else %}{{ ' ' + message['content'] + eos_token }}"
    "{% endif %}"
    "{% endfor %}"
)


def bundled_model() -> Path:
    # find_spec locates the package without importing it
    spec = importlib.util.find_spec("mistral_common")
    if spec is None:
        raise ModuleNotFoundError("install mistral-common (requirements.txt)")
    return Path(spec.submodule_search_locations[0]) / "data" / "tokenizer.model.v1"


def materialise(out_dir: Path = DEFAULT_DIR, source: Path | None = None) -> Path:
    out_dir = Path(out_dir)
    if (out_dir / COMPLETE_MARKER).exists():
        return out_dir
    source = Path(source or bundled_model())
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != SHA256:
        raise ValueError(f"{source}: sha256 {digest}, expected {SHA256} (Mistral's v1 SentencePiece model)")
    from transformers import LlamaTokenizer

    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(source, Path(folder) / "tokenizer.model")
        tokenizer = LlamaTokenizer.from_pretrained(folder, legacy=False, add_bos_token=True, add_eos_token=False)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out_dir)
    marker = {"source": SOURCE, "sha256": digest, "tokenizer_of": MODEL}
    (out_dir / COMPLETE_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return out_dir


if __name__ == "__main__":
    materialise_cli(__doc__.splitlines()[0], DEFAULT_DIR, materialise)
