#!/usr/bin/env bash
# Distributed testing on one machine with torchrun:
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
set -e
CONFIG=${1:?usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [options]}
CHECKPOINT=${2:?usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [options]}
NPROC=${3:?usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [options]}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
python -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
