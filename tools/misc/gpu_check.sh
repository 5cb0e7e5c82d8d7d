#!/usr/bin/env bash
# The GPU check, about ten minutes on one NVIDIA GPU once the set-up is done:
#   1. set-up (tools/setup_env.sh: mmcv-full's CUDA ops compiled for the GPU present, the wheel cached
#      by torch version and CUDA), unless --skip-setup;
#   2. the tests marked `cuda` (pytest -m cuda);
#   3. a short fp32 and a short fp16 training of the demo config on generated synthetic people;
#   4. tools/analysis_tools/benchmark.py train and infer of HRNet-W32 DARK at COCO's 800x1333 (padded
#      to 800x1344 as the pipeline's Pad(size_divisor=32) does), with and without fp16.
# Every figure goes into one JSON (--out). Steps after a failed one still run.
#
#   bash tools/misc/gpu_check.sh [--out FILE] [--work-dir DIR] [--python PY] [--skip-setup]
#                                [--iters N] [--train-epochs N]
#
# Exit status: 0 every step passed, 1 a step failed (the JSON says which), 2 bad arguments,
# 3 no GPU found (nothing run).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$ROOT/work_dirs/gpu_check"
OUT=""
PY=""
SKIP_SETUP=0
ITERS=10
TRAIN_EPOCHS=1
CONFIG_W32=configs/krcnn_hrnet/krcnn_hrnet_w32_hrfpn_dark_1x_coco.py
CONFIG_DEMO=configs/synthetic/krcnn_hrnet_w18_synthetic.py
IMG_SIZE=800x1344

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
fail_usage() {
  echo "gpu_check: $1" >&2
  echo "usage: bash tools/misc/gpu_check.sh [--out FILE] [--work-dir DIR] [--python PY] [--skip-setup] [--iters N] [--train-epochs N]" >&2
  exit 2
}
positive_int() {
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || fail_usage "$1 needs a positive integer, got '$2'"
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --out) [ $# -ge 2 ] || fail_usage "--out needs a file"; OUT=$2; shift 2 ;;
    --work-dir) [ $# -ge 2 ] || fail_usage "--work-dir needs a folder"; WORK=$2; shift 2 ;;
    --python) [ $# -ge 2 ] || fail_usage "--python needs an interpreter"; PY=$2; shift 2 ;;
    --skip-setup) SKIP_SETUP=1; shift ;;
    --iters) [ $# -ge 2 ] || fail_usage "--iters needs a number"; positive_int --iters "$2"
             ITERS=$2; shift 2 ;;
    --train-epochs) [ $# -ge 2 ] || fail_usage "--train-epochs needs a number"
                    positive_int --train-epochs "$2"; TRAIN_EPOCHS=$2; shift 2 ;;
    *) fail_usage "unknown argument '$1'" ;;
  esac
done
PY=${PY:-$ROOT/.venv/bin/python}
OUT=${OUT:-$WORK/gpu_check.json}

log() { printf '[gpu_check %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
no_gpu() {
  echo "gpu_check: no GPU found ($1); nothing was run" >&2
  exit 3
}

# A GPU must be there before anything is built: the driver lists it ...
if ! command -v nvidia-smi >/dev/null 2>&1; then
  no_gpu "nvidia-smi is not installed"
fi
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  no_gpu "nvidia-smi lists no GPU"
fi

cd "$ROOT" || exit 1
mkdir -p "$WORK"
STEPS="$WORK/steps.tsv"
: > "$STEPS"
export PYTHONUNBUFFERED=1

# run_step NAME LOG CMD...: run CMD, its output in LOG; record name, exit status, milliseconds, LOG.
run_step() {
  local name=$1 logfile=$2 start status
  shift 2
  log "$name: $*"
  start=$(date +%s%N)
  "$@" >"$logfile" 2>&1
  status=$?
  printf '%s\t%d\t%d\t%s\n' "$name" "$status" "$(( ($(date +%s%N) - start) / 1000000 ))" \
      "$logfile" >>"$STEPS"
  [ "$status" = 0 ] || log "$name FAILED (exit $status), see $logfile"
  return 0
}

if [ "$SKIP_SETUP" = 0 ]; then
  run_step setup "$WORK/setup.log" bash tools/setup_env.sh
fi
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "gpu_check: no torch in $PY (the set-up failed? see $WORK/setup.log; or give --python)" >&2
  exit 1
fi
# ... and torch sees it (a CPU-only torch, or CUDA_VISIBLE_DEVICES hiding it, would not)
if ! "$PY" -c "import sys, torch; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
  no_gpu "nvidia-smi lists one, but torch in $PY sees none"
fi

run_step cuda_tests "$WORK/cuda_tests.log" "$PY" -m pytest tests -m cuda -q -p no:cacheprovider \
    --junitxml "$WORK/cuda_tests.xml"

DATA="$WORK/synthetic"
if [ ! -f "$DATA/annotations/person_keypoints_val.json" ]; then
  run_step synthetic_data "$WORK/synthetic.log" "$PY" tools/misc/make_synthetic.py "$DATA" \
      --num-train 64 --num-val 16 --seed 0 --no-preview
fi
DATA_OPTIONS=(data.train.ann_file="$DATA/annotations/person_keypoints_train.json"
              data.train.img_prefix="$DATA/images/train/"
              data.val.ann_file="$DATA/annotations/person_keypoints_val.json"
              data.val.img_prefix="$DATA/images/val/"
              runner.max_epochs="$TRAIN_EPOCHS" log_config.interval=1)
rm -rf "$WORK/train_fp32" "$WORK/train_fp16"
run_step train_fp32 "$WORK/train_fp32.log" "$PY" tools/train.py "$CONFIG_DEMO" \
    --work-dir "$WORK/train_fp32" --seed 0 --cfg-options "${DATA_OPTIONS[@]}"
run_step train_fp16 "$WORK/train_fp16.log" "$PY" tools/train.py "$CONFIG_DEMO" \
    --work-dir "$WORK/train_fp16" --seed 0 --cfg-options "${DATA_OPTIONS[@]}" fp16.loss_scale=dynamic

for precision in fp32 fp16; do
  flag=()
  [ "$precision" = fp16 ] && flag=(--fp16)
  run_step "bench_train_$precision" "$WORK/bench_train_$precision.log" "$PY" \
      tools/analysis_tools/benchmark.py train "$CONFIG_W32" --device cuda --img-size "$IMG_SIZE" \
      --batch 2 --iters "$ITERS" --warmup 3 "${flag[@]}" --json "$WORK/bench_train_$precision.json"
  run_step "bench_infer_$precision" "$WORK/bench_infer_$precision.log" "$PY" \
      tools/analysis_tools/benchmark.py infer "$CONFIG_W32" --device cuda --img-size "$IMG_SIZE" \
      --iters "$ITERS" --warmup 3 "${flag[@]}" --json "$WORK/bench_infer_$precision.json"
done

"$PY" "$ROOT/tools/misc/gpu_check_report.py" "$WORK" "$OUT"
status=$?
log "figures in $OUT"
exit "$status"
