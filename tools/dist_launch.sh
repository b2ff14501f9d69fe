#!/usr/bin/env bash
# Run a tool in PROCS processes per node with torchrun (what
# tools/dist_train.sh and tools/dist_test.sh do):
#   bash tools/dist_launch.sh PROCS TOOL [TOOL ARGS]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on each node.
PROCS=$1
TOOL=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The repository's virtual environment unless PYTHON says otherwise; torchrun
# need not be on PATH.
PYTHON=${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python )}

exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$PROCS" \
    --master_port="$PORT" \
    "$ROOT/tools/$TOOL" "${@:3}"
