#!/usr/bin/env bash
# Distributed training on one or more nodes with torchrun:
#   bash tools/dist_train.sh CONFIG PROCS [train.py options]
# PROCS processes per node: one per GPU (NCCL), or on a machine without GPUs
# CPU processes over gloo (tools/train.py picks; see mmsepvit/utils/cli.py).
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on each node.
CONFIG=$1
PROCS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The repository's virtual environment unless PYTHON says otherwise; torchrun
# need not be on PATH.
PYTHON=${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python )}

"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$PROCS" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
