"""Run the real command-line tools in a subprocess, as a user would."""
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import List

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_tool(script: str, *args: str, cwd: Path,
             timeout: int = 600) -> subprocess.CompletedProcess:
    """``python tools/<script> args...`` with ``cwd`` as working directory."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS='1')
    cmd = [sys.executable, str(REPO_ROOT / 'tools' / script), *args]
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed:\n{result.stdout[-3000:]}'
                             f'\n{result.stderr[-5000:]}')
    return result


def exit_in_process(monkeypatch, script: str, *args: str) -> SystemExit:
    """``tools/<script> args`` run in this process (no interpreter start-up)
    up to the ``SystemExit`` it must raise (an early, one-line error)."""
    path = str(REPO_ROOT / 'tools' / script)
    monkeypatch.setattr(sys, 'argv', [path, *args])
    try:
        runpy.run_path(path, run_name='__main__')
    except SystemExit as exit_:
        return exit_
    raise AssertionError(f'tools/{script} {" ".join(args)} did not exit')


def scalar_logs(work_dir: Path) -> List[dict]:
    """Every line of mmengine's ``vis_data/scalars.json`` logs in a work dir,
    oldest run first."""
    records = []
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records
