# make demo: set up, then the CPU demo end to end on the embedded default model.
# make test: set up, then the test suite.
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export HF_HUB_OFFLINE := 1
export AXOLOTL_DO_NOT_TRACK := 1
export DO_NOT_TRACK := 1
export TOKENIZERS_PARALLELISM := false
# accelerate's launcher sets OMP_NUM_THREADS=1 when it is unset: on 2 cores a demo step then takes
# 10.0 s instead of 6.4 s (bench/results/ray_overhead.md). One training process gets every core.
export OMP_NUM_THREADS ?= $(shell nproc)

MODEL := models/smollm2-135m-instruct
DEMO := data/prepared/demo
RUN := runs/smollm2_cpu
ZERO_SHOT := runs/smollm2_zero_shot

.PHONY: setup demo demo-data train predict test clean

setup:
	bash scripts/setup.sh

demo: setup demo-data train predict

demo-data:
	python -m prep.build --messages data/demo/messages.jsonl --stances data/demo/stances.jsonl \
		--tokenizer $(MODEL) --strategy focus --sequence-len 512 --over-budget error \
		--split 0.625,0.125,0.25 --seed 0 --out $(DEMO)

train:
	axolotl preprocess axolotl_configs/smollm2_cpu.yml
	axolotl train axolotl_configs/smollm2_cpu.yml

# Each run is scored on test with its P(yes) threshold tuned on dev and frozen; --tables gives
# the language / position breakdowns and the annotators' ceiling.
predict:
	$(call predict_and_score,$(ZERO_SHOT),)
	$(call predict_and_score,$(RUN),--adapter $(RUN)/adapter)
	python -m eval.compare $(ZERO_SHOT) $(RUN)

define predict_and_score
	python -m eval.predict --model $(MODEL) $(2) --data $(DEMO)/dev.jsonl --out $(1)/dev_predictions.jsonl
	python -m eval.predict --model $(MODEL) $(2) --data $(DEMO)/test.jsonl --out $(1)/predictions.jsonl
	python -m eval.score --predictions $(1)/predictions.jsonl --dev-predictions $(1)/dev_predictions.jsonl \
		--tables $(DEMO)/tables
endef

test:
	bash scripts/setup.sh test
	python -m pytest -q tests

clean:
	rm -rf $(DEMO) $(RUN) $(ZERO_SHOT)
