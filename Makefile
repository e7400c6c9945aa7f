# make demo: set up, then the CPU demo end to end on the embedded default model.
# make test: set up, then the test suite (make test-fast: without the slow tests).
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export HF_HUB_OFFLINE := 1
export AXOLOTL_DO_NOT_TRACK := 1
export DO_NOT_TRACK := 1
export TOKENIZERS_PARALLELISM := false
# accelerate's launcher sets OMP_NUM_THREADS=1 when it is unset: on 2 cores a demo step then takes
# 10.0 s instead of 6.4 s (bench/results/ray_overhead.md). One training process gets every core.
export OMP_NUM_THREADS ?= $(shell nproc)

.PHONY: setup demo demo-data test test-fast readme clean

setup:
	bash scripts/setup.sh

# Every stage of the path for one's own conversations, on the synthetic demo set, timed:
# bench/results/demo.json (see bench/demo.py for the commands).
demo: setup
	python -m bench.demo

# The demo set prepared (data/prepared/demo), for the configs that read it.
demo-data:
	python -m bench.demo --stages prep

# Everything, what CI runs (.ci/run).
test:
	bash scripts/setup.sh test
	python -m pytest -q tests

# The edit-test loop: everything not marked slow (no Axolotl training, no bench runs).
test-fast:
	bash scripts/setup.sh test
	python -m pytest -q -m "not slow" tests

# The README's generated sections, from the committed results.
readme:
	python -m bench.readme

clean:
	rm -rf data/prepared/demo runs/smollm2_cpu runs/smollm2_zero_shot
