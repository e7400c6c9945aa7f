"""The architecture numbers of a Llama/Mistral-style model and its parameter counts, without loading it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from plan.run_config import ROOT

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Architecture:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied_embeddings: bool

    @classmethod
    def from_config(cls, config: dict) -> Architecture:
        """From a Llama/Mistral-style Hugging Face config.json."""
        hidden, heads = config["hidden_size"], config["num_attention_heads"]
        return cls(hidden=hidden, layers=config["num_hidden_layers"], heads=heads,
                   kv_heads=config.get("num_key_value_heads", heads),
                   head_dim=config.get("head_dim") or hidden // heads,
                   intermediate=config["intermediate_size"], vocab=config["vocab_size"],
                   tied_embeddings=bool(config.get("tie_word_embeddings", False)))

    @property
    def q_width(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_width(self) -> int:
        return self.kv_heads * self.head_dim

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each projection of one decoder layer."""
        h, i, q, kv = self.hidden, self.intermediate, self.q_width, self.kv_width
        return {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
                "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}

    @property
    def linear_parameters(self) -> int:
        return self.layers * sum(i * o for i, o in self.linear_shapes().values())

    @property
    def other_parameters(self) -> int:
        """Embedding, output head (unless tied) and the RMSNorm weights."""
        heads = 1 if self.tied_embeddings else 2
        return heads * self.vocab * self.hidden + (2 * self.layers + 1) * self.hidden

    @property
    def total_parameters(self) -> int:
        return self.linear_parameters + self.other_parameters


# mistralai/Mistral-7B-Instruct-v0.2, config.json on the Hugging Face Hub: hidden_size 4096,
# num_hidden_layers 32, num_attention_heads 32, num_key_value_heads 8, intermediate_size 14336,
# vocab_size 32000, tie_word_embeddings false; the same as Table 1 of Jiang et al., "Mistral 7B"
# (arXiv:2310.06825), head_dim 128. 7,241,732,096 parameters.
KNOWN_ARCHITECTURES = {
    "mistralai/Mistral-7B-Instruct-v0.2": Architecture(
        hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, intermediate=14336, vocab=32000,
        tied_embeddings=False),
}


def architecture(base_model: str) -> Architecture:
    """A local model folder's config.json, else the built-in table."""
    config = ROOT / base_model / "config.json"
    if config.is_file():
        return Architecture.from_config(json.loads(config.read_text()))
    if base_model in KNOWN_ARCHITECTURES:
        return KNOWN_ARCHITECTURES[base_model]
    raise ValueError(f"no architecture numbers for {base_model}: use a local model folder "
                     f"or add it to plan.architecture.KNOWN_ARCHITECTURES")
