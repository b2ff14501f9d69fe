#!/usr/bin/env bash
# Distributed testing with torchrun:
#   bash tools/dist_test.sh CONFIG CHECKPOINT PROCS [test.py options]
# PROCS processes per node: one per GPU, or CPU processes over gloo.
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on each node.
exec bash "$(dirname "$0")/dist_launch.sh" "$3" test.py "$1" "$2" \
    --launcher pytorch "${@:4}"
