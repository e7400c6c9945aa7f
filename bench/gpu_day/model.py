"""A randomly initialised Mistral-7B-Instruct-v0.2-shaped model, saved as a local model folder.

No weights travel to the device: the shape comes from the plan's architecture table and the
weights are drawn on the GPU (seconds) and saved once in bf16, so every run loads the same
folder as it would load the real model (QLoRA quantises it on load). Random weights change
neither memory nor speed. `--tiny` makes the same architecture with small widths for the CPU
dry run. The tokenizer folder is copied in, so the model folder is the run's `base_model`.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from plan.architecture import KNOWN_ARCHITECTURES

MODEL = "mistralai/Mistral-7B-Instruct-v0.2"
# Mistral-7B-Instruct-v0.2's config.json beyond the widths: 32K positions, rope_theta 1e6, no sliding window.
COMMON = {"max_position_embeddings": 32768, "rope_theta": 1e6, "sliding_window": None, "rms_norm_eps": 1e-5,
          "bos_token_id": 1, "eos_token_id": 2}
TINY = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 128}


def mistral_config(tiny: bool):
    from transformers import MistralConfig

    arch = KNOWN_ARCHITECTURES[MODEL]
    widths = TINY if tiny else {"hidden_size": arch.hidden, "num_hidden_layers": arch.layers,
                                "num_attention_heads": arch.heads, "num_key_value_heads": arch.kv_heads,
                                "head_dim": arch.head_dim, "intermediate_size": arch.intermediate}
    return MistralConfig(vocab_size=arch.vocab, tie_word_embeddings=arch.tied_embeddings, **widths, **COMMON)


def build(out: Path, tokenizer: Path, tiny: bool) -> Path:
    """Saves the model with the tokenizer into `out`; a folder already holding one is kept."""
    import torch
    from transformers import MistralForCausalLM

    if (out / "config.json").is_file() and any(out.glob("*.safetensors")):
        return out
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = MistralForCausalLM(mistral_config(tiny)).to(torch.bfloat16)
    model.save_pretrained(out, max_shard_size="5GB")
    for item in tokenizer.iterdir():
        if item.is_file():
            shutil.copy(item, out / item.name)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tokenizer", type=Path, required=True, help="the carried Mistral tokenizer folder")
    parser.add_argument("--tiny", action="store_true", help="small widths, same architecture (CPU dry run)")
    args = parser.parse_args(argv)
    print(build(args.out, args.tokenizer, args.tiny))


if __name__ == "__main__":
    main()
