"""Run tools/train.py (or dist_train.sh) on the tiny demo set."""
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import torch

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEMO = REPO_ROOT / 'configs/pretrain/videomae_vit-tiny_demo-pretrain.py'


def write_config(path: Path, data_root: Path, hooks: Sequence[str] = (),
                 **overrides) -> Path:
    """A config inheriting the demo pretraining, on ``data_root``, with
    ``custom_hooks`` given as source strings and top-level overrides."""
    lines = [
        f'_base_ = [{str(DEMO)!r}]',
        "custom_imports = dict(imports=['mmvmae', 'mmvmae_test_hooks'], "
        'allow_failed_imports=False)',
        f'train_dataloader = dict(num_workers=0, dataset=dict('
        f'data_root={str(data_root)!r}, ann_file="unlabeled.txt"))',
        'default_hooks = dict(logger=dict(interval=1), '
        'checkpoint=dict(interval=1, max_keep_ckpts=5))',
        f'custom_hooks = [{", ".join(hooks)}]',
    ]
    lines += [f'{key} = {value!r}' for key, value in overrides.items()]
    path.write_text('\n'.join(lines) + '\n')
    return path


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS='1', PORT=free_port(),
                PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(HERE)]))


def run(cmd: List[str], cwd: Path, check: bool = True,
        timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed:\n'
                             f'{result.stdout[-3000:]}\n'
                             f'{result.stderr[-5000:]}')
    return result


def train(config: Path, work_dir: Path, *args: str, check: bool = True,
          nproc: int = 1) -> subprocess.CompletedProcess:
    if nproc == 1:
        cmd = [sys.executable, str(REPO_ROOT / 'tools/train.py')]
    else:
        cmd = ['bash', str(REPO_ROOT / 'tools/dist_train.sh')]
    cmd += [str(config)] + ([str(nproc)] if nproc > 1 else [])
    cmd += ['--work-dir', str(work_dir), *args]
    return run(cmd, cwd=work_dir.parent, check=check)


def weights(path: Path) -> dict:
    state = torch.load(path, map_location='cpu')
    return state.get('state_dict', state)


def max_abs_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)
