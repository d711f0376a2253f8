"""Atomic file writes: a reader sees the old file or the new one, never half.

Data goes to a temporary file in the same folder, is flushed and fsynced,
then ``os.replace``-d over the target (atomic on POSIX and Windows); the
folder is fsynced too so the rename survives a power cut. A kill at any
moment leaves at worst a stray ``.<name>.tmp-*`` file, never a truncated
target.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend


def atomic_write(data: Union[bytes, str], path: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path``
    atomically, creating its folder if needed."""
    path = osp.abspath(os.fspath(path))
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode(encoding)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(path)}',
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put``/``put_text``.

    Selected with ``backend_args=dict(backend='local_atomic')`` (as
    ``AtomicCheckpointHook`` does for checkpoints).
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_write(obj, filepath, encoding=encoding)


register_backend('local_atomic', AtomicLocalBackend, force=True)
