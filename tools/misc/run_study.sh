#!/usr/bin/env bash
# The head/codec study of docs/study.md: every run of its table, one after the other, then the table.
#   bash tools/misc/run_study.sh [STUDY_DIR]          (default work_dirs/study)
# Each run trains one config of configs/synthetic/ (the demo recipe, or one change to it) with one seed
# on the demo's data, evaluates the last checkpoint with tools/test.py --eval bbox keypoints, and breaks
# its keypoint errors down with tools/analysis_tools/analyze_results.py. Every command is printed before
# it runs. A run whose evaluation (or finished training: train_seconds) is already in STUDY_DIR is not
# repeated, so an interrupted study resumes where it stopped.
#   ONLY="dark_s0 onehot_s0"  runs only these (names as in RUNS below)
#   CFG_OPTIONS="..."         more overrides for every run's training and evaluation
# The runs must have the machine to themselves: two processes with two OpenMP threads each on two
# cores run several times slower (docs/installation.md); the table records each run's time.
set -euo pipefail
OUT=${1:-work_dirs/study}
DATA=${DATA:-data/synthetic}
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PY=.venv/bin/python
export PYTHONUNBUFFERED=1
# shellcheck disable=SC2206  # split on spaces: one override per word
EXTRA=(${CFG_OPTIONS:-})
DEMO=configs/synthetic/krcnn_hrnet_w18_synthetic.py
STUDY=configs/synthetic/study

# NAME CONFIG SEED [eval-only overrides, applied to the checkpoint of the run named FROM=...]
RUNS=(
  "dark_s0 $DEMO 0"
  "dark_s1 $DEMO 1"
  "onehot_s0 $STUDY/krcnn_hrnet_w18_synthetic_onehot.py 0"
  "onehot_s1 $STUDY/krcnn_hrnet_w18_synthetic_onehot.py 1"
  "onehot_s0_rescore $STUDY/krcnn_hrnet_w18_synthetic_onehot.py 0 FROM=onehot_s0 model.test_cfg.rcnn.keypoint.rescore=True"
  "msra_s0 $STUDY/krcnn_hrnet_w18_synthetic_msra.py 0"
  "udp_s0 $STUDY/krcnn_hrnet_w18_synthetic_udp.py 0"
  "udp_s1 $STUDY/krcnn_hrnet_w18_synthetic_udp.py 1"
  "w1000_s0 $STUDY/krcnn_hrnet_w18_synthetic_w1000.py 0"
)

DATA_OPTIONS=(data.train.ann_file="$DATA/annotations/person_keypoints_train.json"
              data.train.img_prefix="$DATA/images/train/"
              data.val.ann_file="$DATA/annotations/person_keypoints_val.json"
              data.val.img_prefix="$DATA/images/val/"
              data.test.ann_file="$DATA/annotations/person_keypoints_val.json"
              data.test.img_prefix="$DATA/images/val/")

run() { printf '\n[study %s] %s\n' "$(date +%H:%M:%S)" "$*"; "$@"; }

if [ ! -f "$DATA/annotations/person_keypoints_val.json" ]; then
  run $PY tools/misc/make_synthetic.py "$DATA" --num-train 1200 --num-val 100 --seed 0
fi
mkdir -p "$OUT"

run_one() {  # one line of RUNS: train (unless FROM=), evaluate, break the errors down
  local words name config seed work eval_options from ckpt t0 word
  read -r -a words <<< "$1"
  name=${words[0]} config=${words[1]} seed=${words[2]}
  work="$OUT/$name"
  if ls "$work"/eval_*.json > /dev/null 2>&1; then
    echo "[study] $name: evaluated already ($work), kept"
    return
  fi
  mkdir -p "$work"
  eval_options=()
  from=$name
  for word in "${words[@]:3}"; do
    case $word in
      FROM=*) from=${word#FROM=} ;;
      *) eval_options+=("$word") ;;
    esac
  done
  ckpt="$OUT/$from/latest.pth"
  if [ "$from" = "$name" ] && [ ! -f "$work/train_seconds" ]; then
    t0=$(date +%s)
    run $PY tools/train.py "$config" --work-dir "$work" --seed "$seed" --cfg-options \
        "${DATA_OPTIONS[@]}" "${EXTRA[@]}"
    echo $(( $(date +%s) - t0 )) > "$work/train_seconds"
  fi
  run $PY tools/test.py "$config" "$ckpt" --eval bbox keypoints --out "$work/results.pkl" \
      --work-dir "$work" --cfg-options "${DATA_OPTIONS[@]}" "${EXTRA[@]}" "${eval_options[@]}"
  run $PY tools/analysis_tools/analyze_results.py "$config" "$work/results.pkl" --out-dir "$work/errors" \
      --cfg-options "${DATA_OPTIONS[@]}" "${EXTRA[@]}" "${eval_options[@]}"
  printf '%s\n' "$1" > "$work/run_spec.txt"
}

selected() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" ${1%% *} "* ]]; }

# Trainings first, then the evaluation-only lines, whose checkpoints the trainings made.
trainings=() evaluations=()
for spec in "${RUNS[@]}"; do
  selected "$spec" || continue
  if [[ "$spec" == *FROM=* ]]; then evaluations+=("$spec"); else trainings+=("$spec"); fi
done
for spec in "${trainings[@]}"; do run_one "$spec"; done
for spec in "${evaluations[@]}"; do run_one "$spec"; done

run $PY tools/misc/study_table.py "$OUT" --out "$OUT/study"
