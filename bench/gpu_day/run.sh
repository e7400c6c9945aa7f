#!/usr/bin/env bash
# The one command a lent GPU runs, from the repository root, with `.gpu_day` carried
# (made here by `python -m bench.gpu_day.pack`):
#
#     bash bench/gpu_day/run.sh                 # on the device: writes $OUT/gpu.md and $OUT/gpu.json
#     bash bench/gpu_day/run.sh --dry-run       # CPU: a tiny Mistral, mistral_snippet_1gpu only
#     bash bench/gpu_day/run.sh --dry-run --wheels   # the same on the carried wheels (a device-like Python)
#
# 1. installs the carried wheels offline into $GPU_DAY_WORK/site (pip --no-index --no-deps);
# 2. builds a randomly initialised Mistral-7B-Instruct-v0.2-shaped model (bench.gpu_day.model);
# 3. trains each run of bench.gpu_day.configs for 3 steps with `axolotl train`, the one-GPU run
#    first, each recording its step seconds and peak memory (bench.gpu_day.probe);
# 4. runs tests/test_gpu_mistral_settings.py where CUDA is, in GPU_DAY_SETTINGS_S seconds (120) kept for it;
# and after every step rewrites the report (bench.gpu_day.report), so a command stopped at its
# limit still returns how far it got. The whole command keeps to GPU_DAY_BUDGET seconds (570).
set -uo pipefail
cd "$(dirname "$0")/../.."

DRY=0 WHEELS=0
[ -n "${OUT:-}" ] || OUT=runs/gpu_day
for arg in "$@"; do
  case $arg in
    --dry-run) DRY=1 ;;
    --wheels) WHEELS=1 ;;
    *) echo "usage: $0 [--dry-run] [--wheels]" >&2; exit 2 ;;
  esac
done
[ $DRY = 1 ] || WHEELS=1
BUDGET=${GPU_DAY_BUDGET:-570}
RESERVE=20  # seconds kept for the last report
PY=${PYTHON:-python3}
PACK=.gpu_day
WORK=${GPU_DAY_WORK:-/tmp/gpu_day}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false AXOLOTL_DO_NOT_TRACK=1 DO_NOT_TRACK=1 PYTHONUNBUFFERED=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}  # accelerate would set 1
export HF_DATASETS_CACHE=$WORK/datasets-cache
mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/run.log") 2>&1
say() { printf '[%4ds] %s\n' "$SECONDS" "$*"; }
left() { echo $((BUDGET - RESERVE - SECONDS)); }
report() { "$PY" -m bench.gpu_day.report --work "$WORK" --out "$OUT" >/dev/null || say "report failed"; }

[ -d $PACK/tokenizer ] && [ -d $PACK/data ] || { say "no $PACK: run python -m bench.gpu_day.pack here first"; exit 1; }
if [ $WHEELS = 1 ]; then
  say "installing $(ls $PACK/wheels/*.whl | wc -l) carried wheels into $WORK/site"
  "$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$WORK/site" $PACK/wheels/*.whl || { say "wheel install failed"; exit 1; }
  export PYTHONPATH="$WORK/site:$PWD" PATH="$WORK/site/bin:$PATH"
else
  export PYTHONPATH="$PWD"
fi
export PATH="$(dirname "$(command -v "$PY")"):$PATH"
"$PY" -m bench.gpu_day.report --versions "$WORK/versions.json" || { say "the stack does not import"; exit 1; }
TEST=tests/test_gpu_mistral_settings.py
# seconds kept for $TEST after the runs (its tiny model trained in 62 s on 2 shared CPU cores); none without CUDA
SETTINGS_S=$("$PY" -c 'import json, sys; print(0 if json.load(open(sys.argv[1]))["device"] == "cpu" else sys.argv[2])' \
  "$WORK/versions.json" "${GPU_DAY_SETTINGS_S:-120}")

MODEL=$WORK/model$([ $DRY = 1 ] && echo -tiny)
say "building the random model in $MODEL"
"$PY" -m bench.gpu_day.model --out "$MODEL" --tokenizer $PACK/tokenizer $([ $DRY = 1 ] && echo --tiny) \
  || { say "model build failed"; exit 1; }
rm -rf "$WORK/runs"
CONFIGS=$("$PY" -m bench.gpu_day.configs --model "$MODEL" --data $PACK/data --work "$WORK/runs" \
  $([ $DRY = 1 ] && echo --only mistral_snippet_1gpu --cpu)) || { say "configs failed"; exit 1; }
report

for config in $CONFIGS; do
  run=$(dirname "$config")
  name=$(basename "$run")
  if [ $(($(left) - SETTINGS_S)) -lt 60 ]; then
    say "$name: not run, $(($(left) - SETTINGS_S)) s left ($SETTINGS_S s kept for $TEST)"; continue
  fi
  say "$name: axolotl train, at most $(($(left) - SETTINGS_S)) s"
  timeout "$(($(left) - SETTINGS_S))" axolotl train "$config" >"$run/train.log" 2>&1
  echo $? >"$run/rc"
  say "$name: exit $(cat "$run/rc"); $(grep -ho "'train_runtime': '\?[0-9.]*" "$run/train.log" | tail -1)"
  [ "$(cat "$run/rc")" = 0 ] || tail -n 15 "$run/train.log"
  report
done

settings() {  # $TEST's outcome for the report, as JSON from key value pairs
  "$PY" -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@" >"$WORK/settings_test.json"
}
if [ "$SETTINGS_S" = 0 ]; then
  say "$TEST: not run, needs a CUDA GPU"
  settings status "not run" needs "a CUDA GPU"
elif [ "$(left)" -lt 60 ]; then
  say "$TEST: not run, $(left) s left"
  settings status "not run" needs time
else
  say "$TEST: pytest, at most $(left) s"
  timeout "$(left)" "$PY" -m pytest -q -p no:cacheprovider "$TEST" >"$OUT/pytest.log" 2>&1
  rc=$?
  # the test's warning when DeepSpeed is absent and it trained without ZeRO-3
  note=$(grep -m1 -o "ZeRO-3 with CPU offload not exercised.*" "$OUT/pytest.log")
  settings status "exit $rc" summary "$(tail -n 1 "$OUT/pytest.log")" note "$note"
  say "$TEST: exit $rc, $(tail -n 1 "$OUT/pytest.log")${note:+; $note}"
fi
report
say "done: $OUT/gpu.md"
cat "$OUT/gpu.md"
