#!/usr/bin/env bash
# Distributed training on one or more nodes with torchrun:
#   bash tools/dist_train.sh CONFIG PROCS [train.py options]
# PROCS processes per node: one per GPU (NCCL), or on a machine without GPUs
# CPU processes over gloo (tools/train.py picks; see mmsepvit/cli/__init__.py).
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on each node.
exec bash "$(dirname "$0")/dist_launch.sh" "$2" train.py "$1" \
    --launcher pytorch "${@:3}"
