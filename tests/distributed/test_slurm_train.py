"""tools/slurm_train.sh on 2 CPU processes, through stand-ins for Slurm's
``srun`` (starts ``--ntasks`` copies of the command with the SLURM_*
variables a job step gets) and ``scontrol show hostname`` (the master
address): the script's options, mmengine's slurm launcher and gloo."""
import subprocess

from tool_process import succeeded

from .helpers import REPO_ROOT, env, max_abs_diff, weights, write_config

SRUN = r'''#!/usr/bin/env bash
echo "$@" > "$SRUN_ARGS_LOG"
n=1
while [ $# -gt 0 ]; do
  case "$1" in
    -p|-J) shift 2 ;;
    --ntasks=*) n=${1#--ntasks=}; shift ;;
    -*) shift ;;
    *) break ;;
  esac
done
pids=()
for ((i = 0; i < n; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$n SLURM_NODELIST=node1 \
    "$@" &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=$?; done
exit $rc
'''


def test_slurm_train_on_cpu_tasks(tmp_path, tiny_demo):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text(SRUN)
    (bin_dir / 'scontrol').write_text('#!/bin/sh\necho 127.0.0.1\n')
    for tool in ('srun', 'scontrol'):
        (bin_dir / tool).chmod(0o755)
    config = write_config(tmp_path / 'cfg.py', tiny_demo,
                          hooks=["dict(type='DumpRankWeightsHook')"])
    run_env = env()
    run_env.update(PATH=f'{bin_dir}:{run_env["PATH"]}', GPUS='2',
                   GPUS_PER_NODE='0', TASKS_PER_NODE='2', CPUS_PER_TASK='1',
                   MASTER_PORT=run_env.pop('PORT'),
                   SRUN_ARGS_LOG=str(tmp_path / 'srun_args.txt'))
    work = tmp_path / 'work'
    result = succeeded(subprocess.run(
        ['bash', str(REPO_ROOT / 'tools/slurm_train.sh'), 'cpu', 'demo',
         str(config), '--work-dir', str(work), '--cfg-options',
         'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2'],
        cwd=tmp_path, env=run_env, capture_output=True, text=True,
        timeout=300))
    log = result.stdout + result.stderr
    assert 'world size: 2, launcher: slurm' in log
    assert 'Epoch(train) [1][2/2]' in log  # 8 videos / (2 tasks x 2)
    srun_args = (tmp_path / 'srun_args.txt').read_text().split()
    assert srun_args[:2] == ['-p', 'cpu'] and '--job-name=demo' in srun_args
    assert {'--ntasks=2', '--ntasks-per-node=2', '--cpus-per-task=1',
            '--kill-on-bad-exit=1'} <= set(srun_args)
    assert not any(a.startswith('--gres') for a in srun_args)  # no GPUs
    assert '--launcher' in srun_args and 'slurm' in srun_args
    assert (work / 'epoch_1.pth').is_file()
    rank0, rank1 = weights(work / 'rank0.pth'), weights(work / 'rank1.pth')
    assert max_abs_diff(rank0, rank1) == 0  # DDP kept the tasks in lockstep
