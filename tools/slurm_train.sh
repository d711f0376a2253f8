#!/usr/bin/env bash
# Training on a Slurm cluster:
#   [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=8] bash tools/slurm_train.sh \
#       PARTITION JOB_NAME CONFIG [train.py options]
set -x
PARTITION=${1:?usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [options]}
JOB_NAME=${2:?usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [options]}
CONFIG=${3:?usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [options]}
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-8}
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    python -u "$ROOT/tools/train.py" "$CONFIG" --launcher slurm "${@:4}"
