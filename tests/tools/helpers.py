"""Run the real command-line tools, as a user would."""
import json
from pathlib import Path
from typing import List

from tool_process import REPO_ROOT, exit_in_process, run_python

__all__ = ['REPO_ROOT', 'exit_in_process', 'run_tool', 'scalar_logs']


def run_tool(script: str, *args: str, cwd: Path, timeout: int = 600):
    """``python tools/<script> args...`` with ``cwd`` as working directory;
    an ``AssertionError`` with its output if it fails."""
    result = run_python(REPO_ROOT / 'tools' / script, *args, cwd=cwd,
                        timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f'{" ".join(result.args)} failed:\n'
                             f'{result.stdout[-3000:]}\n{result.stderr[-5000:]}')
    return result


def scalar_logs(work_dir: Path) -> List[dict]:
    """Every line of mmengine's ``vis_data/scalars.json`` logs in a work dir,
    oldest run first."""
    records = []
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records
