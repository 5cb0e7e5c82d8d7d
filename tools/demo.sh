#!/usr/bin/env bash
# The main job on the embedded default (what `make demo` runs after the set-up):
# generate synthetic people, train, evaluate, draw.
#   bash tools/demo.sh CONFIG DATA_DIR WORK_DIR
# CFG_OPTIONS adds config overrides to training, testing and drawing, e.g.
#   CFG_OPTIONS="cpu_bf16=True" make demo     (bfloat16 training on a CPU that has it)
set -euo pipefail
CONFIG=${1:-configs/synthetic/krcnn_hrnet_w18_synthetic.py}
DATA=${2:-data/synthetic}
WORK=${3:-work_dirs/demo}
NUM_TRAIN=${NUM_TRAIN:-1200}
NUM_VAL=${NUM_VAL:-100}
SEED=${SEED:-0}
# shellcheck disable=SC2206  # split on spaces: one override per word
EXTRA=(${CFG_OPTIONS:-})
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY=.venv/bin/python
export PYTHONUNBUFFERED=1
t0=$(date +%s)
say() { printf '\n[demo %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [ ! -f "$DATA/annotations/person_keypoints_val.json" ]; then
  say "generating synthetic data: $NUM_TRAIN train + $NUM_VAL val images in $DATA"
  $PY tools/misc/make_synthetic.py "$DATA" --num-train "$NUM_TRAIN" --num-val "$NUM_VAL" --seed "$SEED"
else
  say "using the synthetic data already in $DATA"
fi

say "training $CONFIG (log: $WORK/*.log)"
t1=$(date +%s)
$PY tools/train.py "$CONFIG" --work-dir "$WORK" --seed "$SEED" \
    --cfg-options data.train.ann_file="$DATA/annotations/person_keypoints_train.json" \
    data.train.img_prefix="$DATA/images/train/" \
    data.val.ann_file="$DATA/annotations/person_keypoints_val.json" \
    data.val.img_prefix="$DATA/images/val/" "${EXTRA[@]}"
train_s=$(( $(date +%s) - t1 ))

say "evaluating $WORK/latest.pth on the val split"
$PY tools/test.py "$CONFIG" "$WORK/latest.pth" --eval bbox keypoints --work-dir "$WORK" \
    --show-dir "$WORK/show" \
    --cfg-options data.test.ann_file="$DATA/annotations/person_keypoints_val.json" \
    data.test.img_prefix="$DATA/images/val/" "${EXTRA[@]}" | tee "$WORK/test_output.txt"

say "drawing curves and predictions"
LOG=$(ls -t "$WORK"/*.log.json | head -n 1)
$PY tools/analysis_tools/analyze_logs.py plot_curve "$LOG" --keys loss loss_keypoint keypoints_AP \
    --out "$WORK/curves.png"
$PY tools/misc/draw_predictions.py "$CONFIG" "$WORK/latest.pth" --out-dir "$WORK/predictions" \
    --num 6 --cfg-options data.test.ann_file="$DATA/annotations/person_keypoints_val.json" \
    data.test.img_prefix="$DATA/images/val/" "${EXTRA[@]}"

total_s=$(( $(date +%s) - t0 ))
say "done in ${total_s} s (training ${train_s} s). In $WORK:"
echo "  latest.pth                checkpoint"
echo "  *.log, *.log.json          training logs"
echo "  curves.png                 loss and keypoint-AP curves"
echo "  predictions/*.png          ground truth | prediction, validation images"
echo "  show/                      every validation image with its predictions"
echo "  test_output.txt            the COCO box and keypoint tables"
grep -E "keypoints_AP" "$WORK/test_output.txt" | tail -n 1 || true
