#!/usr/bin/env bash
# Distributed training with torchrun: NCCL on GPUs, gloo on CPU.
#   bash tools/dist_train.sh CONFIG NPROC [train.py args...]
set -euo pipefail
CONFIG=$1
NPROC=$2
PORT=${PORT:-29500}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
PYTHONPATH="$ROOT:${PYTHONPATH:-}" exec "$PY" -m torch.distributed.run --nnodes=1 \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
