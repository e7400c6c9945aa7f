# make demo: set up, then the CPU demo end to end on the embedded default model.
# make test: set up, then the test suite.
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export HF_HUB_OFFLINE := 1
export AXOLOTL_DO_NOT_TRACK := 1
export DO_NOT_TRACK := 1
export TOKENIZERS_PARALLELISM := false

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

predict:
	python -m eval.predict --model $(MODEL) --data $(DEMO)/test.jsonl --out $(ZERO_SHOT)/predictions.jsonl
	python -m eval.score --predictions $(ZERO_SHOT)/predictions.jsonl
	python -m eval.predict --model $(MODEL) --adapter $(RUN)/adapter --data $(DEMO)/test.jsonl --out $(RUN)/predictions.jsonl
	python -m eval.score --predictions $(RUN)/predictions.jsonl

test: setup
	python -m pytest -q tests

clean:
	rm -rf $(DEMO) $(RUN) $(ZERO_SHOT)
