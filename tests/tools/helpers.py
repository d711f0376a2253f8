"""Run the real command-line tools, as a user would."""
import importlib.util
import json
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional

import pytest

from tool_process import (REPO_ROOT, exit_in_process, run_python, succeeded,
                          tool_env)

__all__ = ['REPO_ROOT', 'exit_in_process', 'ffmpeg_env', 'load_tool',
           'run_tool', 'scalar_logs']


def load_tool(script: str) -> ModuleType:
    """``tools/<script>`` as a module (its functions, without running
    ``main``)."""
    path = REPO_ROOT / 'tools' / script
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(script: str, *args: str, cwd: Path, timeout: int = 600,
             env: Optional[Dict[str, str]] = None):
    """``python tools/<script> args...`` with ``cwd`` as working directory
    (and ``env``, default the suite's); an ``AssertionError`` with its output
    if it fails."""
    return succeeded(run_python(REPO_ROOT / 'tools' / script, *args,
                                cwd=cwd, timeout=timeout, env=env))


def ffmpeg_env(bin_dir: Path) -> Dict[str, str]:
    """The tools' environment with a real ``ffmpeg`` on PATH: the machine's,
    else the static build of ``imageio-ffmpeg`` (in the tests' extras),
    linked as ``bin_dir/ffmpeg``; skips the test if neither exists."""
    env = tool_env()
    if shutil.which('ffmpeg', path=env.get('PATH')):
        return env
    try:
        import imageio_ffmpeg
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pytest.skip('no ffmpeg: not on PATH and imageio-ffmpeg missing')
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / 'ffmpeg').symlink_to(exe)
    return dict(env, PATH=f'{bin_dir}{os.pathsep}{env.get("PATH", "")}')


def scalar_logs(work_dir: Path) -> List[dict]:
    """Every line of mmengine's ``vis_data/scalars.json`` logs in a work dir,
    oldest run first."""
    records = []
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records
