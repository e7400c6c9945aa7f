"""Encoder run configs: versioned YAML, one per model, checked on load.

Unknown keys and values of the wrong type are errors naming the key, so a typo in a config
or a `--set key=value` override never silently falls back to a default.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Callable, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.cli import UserError
from eval.aggregate import AGGREGATIONS

Model = TypeVar("Model")
PACKAGE_PREFIX = "package:"
SPECIAL_TOKENS = 2  # [CLS] and [SEP] around every bi-encoder window


class Common(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="a folder, a hub id already in the local cache, or package:<module>/<folder>")
    seed: int = 0
    aggregation: Literal[AGGREGATIONS] = "any-yes"
    max_train_questions: int | None = Field(None, ge=1, description="a seeded sample of the train questions; null: all")
    batch_size: int = Field(16, ge=1)
    debate: bool = Field(False, description="a second stage fitted on dev over the debate's replies and level "
                         "(encoders.debate); reads the prepared folder's tables")


class CrossEncoderConfig(Common):
    """(question, context) read together by one transformer with a 1-logit head (MiniLM, ModernBERT)."""

    kind: Literal["cross-encoder"]
    max_length: int = Field(ge=16)
    epochs: int = Field(1, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    gradient_checkpointing: bool = False
    learning_rate: float = Field(3e-5, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    positive_weight: Annotated[float, Field(gt=0)] | Literal["balanced"] = Field(
        1.0, description="loss weight of a 'yes' question; balanced: the train sample's no/yes ratio")


class BiEncoderConfig(Common):
    """Question and context embedded apart; logistic regression on [u, v, |u-v|, u*v]."""

    kind: Literal["bi-encoder"]
    window_tokens: int = Field(ge=16, description="tokens per context window (the encoder's own limit at most)")
    window_overlap: int = Field(0, ge=0)
    windows: Literal["context", "messages"] = Field(
        "context", description="context: windows over the rendered context; messages: one window per message of the "
        "contributor, with its reply parent, from the prepared folder's tables (encoders.windows)")
    max_windows: int | None = Field(None, ge=1, description="keep the last N windows of a context (the N longest "
                                    "messages); null: all")
    embedding_cache: str | None = Field(None, description="SQLite file of window embeddings shared between runs "
                                        "(the frozen encoder only); null: none")
    poolings: list[Literal["mean", "max", "last", "nearest"]] = Field(min_length=1)
    regularisation: list[float] = Field(min_length=1, description="candidate C values of the logistic regression")
    contrastive_epochs: int = Field(0, ge=0, description="SetFit-style fine-tuning before the classifier; 0: off")
    learning_rate: float = Field(2e-5, gt=0)

    @model_validator(mode="after")
    def windows_advance(self) -> BiEncoderConfig:
        if self.window_overlap >= self.window_tokens - SPECIAL_TOKENS:
            raise ValueError(f"window_overlap must be below window_tokens - {SPECIAL_TOKENS}")
        return self


class TfidfConfig(Common):
    """TF-IDF of everything a contributor wrote; logistic regression per statement (encoders.tfidf)."""

    kind: Literal["tfidf"]
    windows: Literal["messages"] = "messages"
    max_windows: int | None = Field(None, ge=1, description="the N longest messages of a contributor; null: all")
    ngram_max: int = Field(2, ge=1)
    min_df: int = Field(2, ge=1)
    max_features: int | None = Field(200_000, ge=1)
    regularisation: list[float] = Field(min_length=1, description="candidate C values of the logistic regression")


CONFIGS = {"cross-encoder": CrossEncoderConfig, "bi-encoder": BiEncoderConfig, "tfidf": TfidfConfig}


def parse_override(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UserError(f"--set {text!r}: expected key=value")
    return key.strip(), yaml.safe_load(value)


def load(path: Path, overrides: list[str] = ()) -> CrossEncoderConfig | BiEncoderConfig | TfidfConfig:
    if not Path(path).is_file():
        raise UserError(f"{path}: config file not found")
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    raw.update(parse_override(item) for item in overrides)
    kind = raw.get("kind")
    if kind not in CONFIGS:
        raise UserError(f"{path}: kind must be one of {sorted(CONFIGS)}, not {kind!r}")
    try:
        return CONFIGS[kind](**raw)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise UserError(f"{path}: {problems}") from None


def model_path(model: str) -> str:
    """A `package:<module>/<folder>` model is a folder shipped inside an installed package."""
    if not model.startswith(PACKAGE_PREFIX):
        return model
    module, _, folder = model.removeprefix(PACKAGE_PREFIX).partition("/")
    try:
        path = files(module).joinpath(folder)
    except ModuleNotFoundError:
        raise UserError(f"model {model!r}: package {module!r} is not installed (scripts/setup.sh installs it)") from None
    if not path.is_dir():
        raise UserError(f"model {model!r}: no folder {folder!r} in package {module!r}")
    return str(path)


def load_weights(factory: Callable[..., Model], model: str, **kwargs) -> Model:
    """`factory(path, **kwargs)`; weights that cannot be found are the user's to point at."""
    try:
        return factory(model_path(model), **kwargs)
    except OSError as error:
        raise UserError(f"model {model!r} could not be loaded ({error}); set `model:` in the config (or "
                        "--set model=...) to the folder of its weights") from None
