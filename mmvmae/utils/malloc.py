"""Make glibc's malloc keep freed memory for reuse (CPU speed).

By default glibc hands large freed blocks (a clip's frames, an activation)
back to the OS, and the next allocation of that size page-faults fresh pages
in again. Steps that allocate the same large arrays over and over (a
training step on CPU, a data worker's transforms) then pay for touching
fresh pages: 3-8% of a ViT-B step on CPU, and about 1 ms of a fine-tuning
clip's transforms (``docs/performance.md``). jemalloc and tcmalloc, the
usual advice for PyTorch on CPU, keep freed memory anyway.

``tools/train.py`` and ``tools/test.py`` turn it on for configs with
``keep_freed_memory = True`` (set in ``configs/_base_/default_runtime.py``),
before the dataloader workers start. The same setting without code, for any
process (processes it starts inherit it)::

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=2147483647 \\
        python tools/train.py CONFIG

The cost: a process keeps the memory it freed (up to its peak use) instead
of returning it to the OS.
"""
import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD = 32 * 2**20  # blocks up to this come from the heap
TRIM_THRESHOLD = 2**31 - 1  # never give the heap's free top back
# the same settings for processes started later (read by glibc at start-up)
ENVIRONMENT = {'MALLOC_MMAP_THRESHOLD_': str(MMAP_THRESHOLD),
               'MALLOC_TRIM_THRESHOLD_': str(TRIM_THRESHOLD)}


def keep_freed_memory(children: bool = False) -> bool:
    """Make glibc's malloc keep freed blocks (up to 32 MiB) for reuse, in
    this process and the processes it forks later; with ``children``, also
    in processes it starts later by other means (``spawn`` or
    ``forkserver`` dataloader workers, subprocesses), through the
    environment (``ENVIRONMENT``; values already set there are kept).
    Returns whether it applied here (False where the C library is not
    glibc)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c'))
        kept = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
            bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError, TypeError):  # not glibc
        return False
    if kept and children:
        for name, value in ENVIRONMENT.items():
            os.environ.setdefault(name, value)
    return kept
