#!/usr/bin/env bash
# Training on a Slurm cluster:
#   [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=8] bash tools/slurm_train.sh \
#       PARTITION JOB_NAME CONFIG [train.py options]
# CPU-only partitions: GPUS_PER_NODE=0 TASKS_PER_NODE=4 GPUS=8 (GPUS = number
# of processes); the processes then use gloo.
set -x
PARTITION=${1:?usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [options]}
JOB_NAME=${2:?usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [options]}
CONFIG=${3:?usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [options]}
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-8}
TASKS_PER_NODE=${TASKS_PER_NODE:-$GPUS_PER_NODE}
GRES=""
if [ "$GPUS_PER_NODE" -gt 0 ]; then GRES="--gres=gpu:$GPUS_PER_NODE"; fi
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# mmengine's slurm launcher reads MASTER_PORT (default 29500); PORT as in
# dist_train.sh
PYTHONPATH="$ROOT:${PYTHONPATH:-}" MASTER_PORT=${MASTER_PORT:-${PORT:-29500}} \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    $GRES \
    --ntasks="$GPUS" \
    --ntasks-per-node="$TASKS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    python -u "$ROOT/tools/train.py" "$CONFIG" --launcher slurm "${@:4}"
