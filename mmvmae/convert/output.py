"""Where a conversion writes: checked before converting, written atomically.

A ``.pth`` file goes to a temporary file next to it and is renamed over it
once complete (fsynced); a new Hugging Face directory is built under a
temporary name and renamed. An existing one (``overwrite``) gets each file
replaced the same way. Missing parent folders are created.
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List

import torch

from mmvmae.utils.atomic_write import atomic_file, fsync_dir, temporary_name
from .report import ConversionError

HF_FILES = ('config.json', 'model.safetensors')
_HF_SOURCE_FILES = ('config.json', 'model.safetensors', 'pytorch_model.bin')


def _same(a: str, b: str) -> bool:
    if osp.realpath(a) == osp.realpath(b):
        return True
    try:
        return osp.samefile(a, b)  # hard links
    except OSError:
        return False


def _source_files(src: str) -> List[str]:
    """``src`` and the files :func:`load_source` reads with it."""
    folder = src if osp.isdir(src) else osp.dirname(osp.abspath(src))
    names = _HF_SOURCE_FILES if osp.isdir(src) else ('config.json', )
    return [src] + [p for p in (osp.join(folder, n) for n in names)
                    if osp.isfile(p)]


def _check_suffix(dst: str, dst_format: str) -> None:
    """Refuse a ``dst`` named for the other output: ``--to mmvmae`` writes
    a torch pickle (``.pth``), never safetensors or JSON; ``--to hf`` a
    folder, never a file name with a weights or JSON suffix (read back as
    such, the name would lie about the contents)."""
    suffix = osp.splitext(dst.rstrip('/' + osp.sep))[1].lower()
    if dst_format == 'mmvmae' and suffix in ('.safetensors', '.json'):
        raise ConversionError(
            f'{dst}: --to mmvmae writes a torch checkpoint (.pth), not '
            f'{suffix}; name it .pth, or pass --to hf and a folder for '
            f'Hugging Face files ({" and ".join(HF_FILES)} in it)')
    if dst_format == 'hf' and suffix in ('.pth', '.pt', '.bin', '.ckpt',
                                         '.safetensors', '.json'):
        raise ConversionError(
            f'{dst}: --to hf writes a folder ({" and ".join(HF_FILES)} in '
            f'it), not a {suffix} file; give a folder name, or pass '
            '--to mmvmae for a .pth file')


def check_destination(src: str, dst: str, dst_format: str,
                      overwrite: bool = False) -> None:
    """Refuse, before any work, a ``dst`` that cannot or must not be
    written: the source itself (always), an existing file or non-empty
    directory (unless ``overwrite``), the wrong kind of path, a parent that
    cannot be created."""
    writes = [dst] if dst_format == 'mmvmae' else \
        [dst] + [osp.join(dst, n) for n in HF_FILES]
    for out in writes:
        for read in _source_files(src):
            if _same(out, read):
                raise ConversionError(
                    f'{dst} would replace the source {read}; write elsewhere '
                    '(refused even with --overwrite)')
    if dst_format == 'mmvmae':
        if osp.isdir(dst) or dst.endswith(('/', osp.sep)):
            raise ConversionError(f'{dst} is a directory; --to mmvmae writes '
                                  'a .pth file: give a file name')
        if osp.lexists(dst) and not overwrite:
            raise ConversionError(f'{dst} exists; pass --overwrite to '
                                  'replace it')
    elif osp.lexists(dst) and not osp.isdir(dst):
        raise ConversionError(f'{dst} exists and is not a directory; --to hf '
                              'writes a directory')
    elif osp.isdir(dst) and os.listdir(dst) and not overwrite:
        raise ConversionError(
            f'{dst} is a non-empty directory; pass --overwrite to replace its '
            f'{" and ".join(HF_FILES)}')
    _check_suffix(dst, dst_format)
    folder = osp.dirname(osp.abspath(dst))
    if dst_format == 'hf' and osp.isdir(dst):
        folder = osp.abspath(dst)
    existing = folder
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        raise ConversionError(f'cannot create the folder {folder}: '
                              f'{existing} is not a directory')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConversionError(f'cannot write to {existing}: permission '
                              'denied')


def save_checkpoint(ckpt: Dict, path: str) -> None:
    """``torch.save`` to ``path`` atomically."""
    with atomic_file(path) as tmp:
        torch.save(ckpt, tmp)


def save_hf(out_dir: str, state: Dict[str, torch.Tensor],
            config: Dict) -> List[str]:
    """Write ``config.json`` and ``model.safetensors`` to ``out_dir``.

    Returns the other files an existing ``out_dir`` holds (kept as they
    are)."""
    from safetensors.torch import save_file

    def write(name: str, to: str) -> None:
        if name == 'config.json':
            with open(to, 'w') as f:
                json.dump(config, f, indent=2, sort_keys=True)
        else:
            save_file({k: v.contiguous() for k, v in state.items()}, to,
                      metadata={'format': 'pt'})

    out_dir = osp.abspath(out_dir)
    if osp.isdir(out_dir):
        for name in HF_FILES:
            with atomic_file(osp.join(out_dir, name)) as tmp:
                write(name, tmp)
        return sorted(set(os.listdir(out_dir)) - set(HF_FILES))
    os.makedirs(osp.dirname(out_dir), exist_ok=True)
    tmp_dir = temporary_name(out_dir)
    os.mkdir(tmp_dir)
    try:
        for name in HF_FILES:
            with atomic_file(osp.join(tmp_dir, name)) as tmp:
                write(name, tmp)
        os.rename(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    fsync_dir(osp.dirname(out_dir))
    return []
