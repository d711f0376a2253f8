"""Run tools/train.py (or dist_train.sh) on the tiny demo set."""
import os
import socket
import subprocess
from pathlib import Path
from typing import Sequence

import torch
from tool_process import run_python, succeeded, tool_env

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEMO = REPO_ROOT / 'configs/pretrain/videomae_vit-tiny_demo-pretrain.py'
SINGLE_PROCESS_ENV = dict(
    tool_env(), PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(HERE)]))


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
    return dict(SINGLE_PROCESS_ENV, PORT=free_port())


def train(config: Path, work_dir: Path, *args: str, check: bool = True,
          nproc: int = 1) -> subprocess.CompletedProcess:
    """``tools/train.py`` (one process) or ``tools/dist_train.sh``
    (``nproc`` processes through torchrun) in ``work_dir``'s parent."""
    args = [str(config), *([str(nproc)] if nproc > 1 else []),
            '--work-dir', str(work_dir), *args]
    if nproc == 1:  # no PORT: every run shares one test zygote
        result = run_python(REPO_ROOT / 'tools/train.py', *args,
                            cwd=work_dir.parent, env=SINGLE_PROCESS_ENV,
                            timeout=300)
    else:
        result = subprocess.run(
            ['bash', str(REPO_ROOT / 'tools/dist_train.sh'), *args],
            cwd=work_dir.parent, env=env(), capture_output=True, text=True,
            timeout=300)
    return succeeded(result) if check else result


def weights(path: Path) -> dict:
    state = torch.load(path, map_location='cpu')
    return state.get('state_dict', state)


def max_abs_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)
