"""Run the real command-line tools, as a user would."""
import json
from pathlib import Path
from typing import List

from tool_process import REPO_ROOT, exit_in_process, run_python, succeeded

__all__ = ['REPO_ROOT', 'exit_in_process', 'run_tool', 'scalar_logs']


def run_tool(script: str, *args: str, cwd: Path, timeout: int = 600):
    """``python tools/<script> args...`` with ``cwd`` as working directory;
    an ``AssertionError`` with its output if it fails."""
    return succeeded(run_python(REPO_ROOT / 'tools' / script, *args,
                                cwd=cwd, timeout=timeout))


def scalar_logs(work_dir: Path) -> List[dict]:
    """Every line of mmengine's ``vis_data/scalars.json`` logs in a work dir,
    oldest run first."""
    records = []
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records
