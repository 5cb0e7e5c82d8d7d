#!/usr/bin/env bash
# Distributed training with torchrun: NCCL on GPUs, gloo on CPU; one machine or several.
#   bash tools/dist_train.sh CONFIG NPROC_PER_NODE [train.py args...]
# Several machines (as mmdet's): run it on each, with the same NNODES, MASTER_ADDR and MASTER_PORT
# and NODE_RANK 0..NNODES-1, e.g. on the first of two:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.1.1.1 MASTER_PORT=29500 bash tools/dist_train.sh CONFIG 8
# MASTER_ADDR is node 0's address; the work dir should be on a file system all nodes share (the
# evaluation gathers the ranks' results there). PORT is read as MASTER_PORT, as mmdet's scripts do.
set -euo pipefail
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-${PORT:-29500}}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
PYTHONPATH="$ROOT:${PYTHONPATH:-}" exec "$PY" -m torch.distributed.run --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" \
    --nproc_per_node="$NPROC" "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
