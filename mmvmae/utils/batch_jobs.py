"""Per-video jobs of the command-line tools: progress, and failures listed
in ``failed.txt`` with a non-zero exit."""
import os
import os.path as osp
import shutil
import sys
from typing import Callable, Dict, List, Optional, Sequence


def video_backend(name: str) -> str:
    """The tools' ``--backend``: 'ffmpeg' or 'opencv' as given, 'auto' for
    ffmpeg where it is on PATH; exits if ffmpeg is asked for but missing."""
    if name == 'auto':
        return 'ffmpeg' if shutil.which('ffmpeg') else 'opencv'
    if name == 'ffmpeg' and not shutil.which('ffmpeg'):
        sys.exit('error: --backend ffmpeg: ffmpeg is not on PATH')
    return name


def is_inside(path: str, folder: str) -> bool:
    """``path`` lies inside ``folder`` (links resolved; ``folder`` itself
    counts)."""
    return (osp.realpath(path) + osp.sep).startswith(
        osp.realpath(folder) + osp.sep)


def same_file(path: str, other: str) -> bool:
    """``path`` and ``other`` are one file: the same path once links are
    resolved, or (both existing) hard links of one file."""
    if osp.realpath(path) == osp.realpath(other):
        return True
    return osp.exists(path) and osp.exists(other) and \
        osp.samefile(path, other)


def outputs_or_exit(inputs: Sequence[str], output_of: Callable[[str], str],
                    what: str, hint: str,
                    inside: Optional[str] = None) -> Dict[str, str]:
    """``{output: input}`` of the jobs, one per output (an input listed twice
    is one job); exits naming the ``what`` (e.g. '.npy files') that several
    inputs would share (``a.mp4`` and ``a.avi``), with ``hint``, or that
    would land outside the folder ``inside`` (an absolute or ``../`` path),
    before anything is written."""
    if inside is not None:
        outside = [item for item in inputs
                   if not is_inside(output_of(item), inside)]
        if outside:
            sys.exit(f'error: {len(outside)} video path(s) would put their '
                     f'{what} outside {inside} (absolute, or with ../); '
                     'list paths relative to the source root:\n'
                     + '\n'.join(outside[:5]))
    outputs: Dict[str, List[str]] = {}
    for item in inputs:
        sources = outputs.setdefault(output_of(item), [])
        if osp.normpath(item) not in map(osp.normpath, sources):
            sources.append(item)
    clashes = [f'{out} <- {", ".join(paths)}'
               for out, paths in outputs.items() if len(paths) > 1]
    if clashes:
        sys.exit(f'error: {len(clashes)} {what} would hold several videos '
                 f'(same path but for the extension); {hint}:\n'
                 + '\n'.join(clashes[:5]))
    return {out: paths[0] for out, paths in outputs.items()}


def run_jobs(job: Callable[[str], Optional[str]], todo: Sequence[str],
             num_workers: int = 1) -> List[str]:
    """``job`` on every item of ``todo`` with a progress bar (in
    ``num_workers`` processes when more than one); returns the error
    messages the jobs returned (a job returns None or '' on success)."""
    from mmengine.utils import track_parallel_progress, track_progress
    errors = track_parallel_progress(job, todo, num_workers) \
        if num_workers > 1 else track_progress(job, todo)
    return [error for error in errors if error]


def clear_failures(out_dir: str) -> None:
    """Remove an earlier run's ``out_dir/failed.txt`` (stale once this run
    has nothing left to fail)."""
    if osp.isfile(osp.join(out_dir, 'failed.txt')):
        os.remove(osp.join(out_dir, 'failed.txt'))


def exit_on_failures(failed: Sequence[str], total: int, out_dir: str,
                     what: str = 'failed') -> None:
    """If any item ``failed``: list them in ``out_dir/failed.txt`` and exit
    with status 1, naming the first few; else remove an earlier run's
    ``failed.txt``."""
    if not failed:
        clear_failures(out_dir)
        return
    listing = osp.join(out_dir, 'failed.txt')
    with open(listing, 'w') as f:
        f.write('\n'.join(failed) + '\n')
    sys.exit(f'error: {len(failed)} of {total} videos {what} (listed in '
             f'{listing}):\n' + '\n'.join(failed[:5]))
