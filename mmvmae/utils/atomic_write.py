"""Atomic file writes: a reader sees the old file or the new one, never half.

Data goes to a temporary file in the same folder, is flushed and fsynced,
then ``os.replace``-d over the target (atomic on POSIX and Windows); the
folder is fsynced too so the rename survives a power cut. A kill at any
moment leaves at worst a stray ``.<name>.tmp-*`` file, never a truncated
target.
"""
import os
import os.path as osp
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from mmengine.fileio import LocalBackend, register_backend


def temporary_name(path: str) -> str:
    """A fresh hidden name next to ``path``: ``.<name>.tmp-<random>``."""
    return osp.join(osp.dirname(path),
                    f'.{osp.basename(path)}.tmp-{uuid.uuid4().hex[:8]}')


@contextmanager
def atomic_file(path: Union[str, Path]) -> Iterator[str]:
    """Yield a temporary path next to ``path`` to write; when the block
    succeeds the file is fsynced and replaces ``path``, on an error it is
    removed. Creates the folder if needed; the file gets the usual
    permissions (0o666 less the umask, also when the writer, e.g.
    safetensors, made it 0600)."""
    path = osp.abspath(os.fspath(path))
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    tmp = temporary_name(path)
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    mode = os.stat(tmp).st_mode
    try:
        yield tmp
        os.chmod(tmp, mode)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if osp.lexists(tmp):
            os.remove(tmp)
        raise
    fsync_dir(folder)


def atomic_write(data: Union[bytes, str], path: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path``
    atomically, creating its folder if needed."""
    if isinstance(data, str):
        data = data.encode(encoding)
    with atomic_file(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)


def fsync_dir(folder: str) -> None:
    """Make a rename in ``folder`` durable (where the OS allows it)."""
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
