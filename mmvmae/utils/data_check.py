"""Check that the data a run's config names exists, before anything is built.

A missing annotation list or video folder otherwise surfaces as a traceback
once the model is built, and a missing evaluation file (AVA's ground truth,
read by the metric) only after the first training epoch. ``tools/train.py``
and ``tools/test.py`` call :func:`check_data_files` first and stop with one
line per missing path.

Paths are resolved as mmengine's ``BaseDataset`` does: ``ann_file`` and the
``data_prefix`` folders relative to ``data_root``; AVA's ``exclude_file``,
``proposal_file`` and ``label_file`` (which a dataset reads only with
``custom_classes``) and the evaluators' files as written (mmaction2 opens
them so). A ``data_prefix`` folder is not checked when the list's first
entry is an absolute path (the prefix is then unused), nor is ``data_root``
when no path is joined with it. Not checked: remote paths (``s3://...``),
datasets with ``lazy_init=True`` or ``backend_args`` (read later or through
a storage backend), datasets that make their own files
(``generates_data = True``: the demo sets) and their loop's evaluators,
which read files those datasets write, and the videos a list names
(``tools/data/check_videos.py`` reads them).
"""
import os
import os.path as osp
from typing import Any, Iterable, List, Optional, Tuple

from mmvmae.registry import DATASETS

DATASET_FILE_KEYS = ('ann_file', 'exclude_file', 'proposal_file')
METRIC_FILE_KEYS = ('ann_file', 'exclude_file', 'label_file')


def _path(value: Any) -> Optional[str]:
    """A local path (``str`` or ``os.PathLike``), else None."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and value and '://' not in value:
        return value
    return None


def _dataset_class(type_name: Any) -> Optional[type]:
    if isinstance(type_name, type):
        return type_name
    try:
        return DATASETS.get(type_name) if isinstance(type_name, str) \
            else None
    except Exception:  # an unknown type is reported when it is built
        return None


def _first_entry_is_absolute(ann_file: str) -> bool:
    """Whether the first entry of a list file is an absolute path (then
    mmengine's joining leaves the prefix unused)."""
    try:
        with open(ann_file, encoding='utf-8', errors='replace') as f:
            for line in f:
                if line.strip():
                    return osp.isabs(line.split()[0])
    except OSError:
        pass
    return False


def _own_problems(cfg: dict, where: str) -> List[str]:
    """Missing paths of one dataset config (not its wrapped datasets)."""
    root = cfg.get('data_root') or ''
    if not isinstance(root, (str, os.PathLike)) or '://' in str(root):
        return []  # a storage backend resolves the paths
    root = os.fspath(root)
    # (key, path, joined with data_root, kind)
    paths: List[Tuple[str, str, bool, str]] = []
    keys = DATASET_FILE_KEYS + (('label_file', )
                                if cfg.get('custom_classes') else ())
    for key in keys:
        path = _path(cfg.get(key))
        if path:
            joined = key == 'ann_file' and bool(root) and not osp.isabs(path)
            paths.append((key, osp.join(root, path) if joined else path,
                          joined, 'file'))
    prefixes = cfg.get('data_prefix')
    ann_file = next((p for k, p, _, _ in paths if k == 'ann_file'), None)
    if isinstance(prefixes, dict) and not (
            ann_file and _first_entry_is_absolute(ann_file)):
        for key, prefix in prefixes.items():
            prefix = _path(prefix)
            if prefix:
                joined = bool(root) and not osp.isabs(prefix)
                paths.append((f'data_prefix.{key}', osp.join(root, prefix)
                              if joined else prefix, joined, 'folder'))
    problems = []
    root_missing = bool(root) and not osp.isdir(root)
    if root_missing and any(joined for _, _, joined, _ in paths):
        # everything below it is missing too: one line says it
        problems.append(f'{where}.data_root: no folder at {root}')
    for key, path, joined, kind in paths:
        if joined and root_missing:
            continue
        found = osp.isfile(path) if kind == 'file' else osp.isdir(path)
        if not found:
            problems.append(f'{where}.{key}: no {kind} at {path}')
    return problems


def _dataset_problems(cfg: Any, where: str) -> Tuple[List[str], bool]:
    """Missing paths of dataset config ``cfg`` (wrappers included), and
    whether a dataset in it makes its own files."""
    if not isinstance(cfg, dict):
        return [], False
    problems: List[str] = []
    generates = False
    inner = [(cfg['dataset'], f'{where}.dataset')] if 'dataset' in cfg \
        else []
    inner += [(d, f'{where}.datasets.{i}')
              for i, d in enumerate(cfg.get('datasets') or [])]
    for sub, sub_where in inner:
        found, made = _dataset_problems(sub, sub_where)
        problems += found
        generates = generates or made
    if getattr(_dataset_class(cfg.get('type')), 'generates_data', False):
        return problems, True
    if cfg.get('lazy_init') or cfg.get('backend_args'):
        return problems, generates
    return problems + _own_problems(cfg, where), generates


def _evaluator_problems(cfg: Any, where: str) -> List[str]:
    if isinstance(cfg, dict) and 'metrics' in cfg:  # dict(type='Evaluator')
        return _evaluator_problems(cfg['metrics'], f'{where}.metrics')
    metrics = cfg if isinstance(cfg, (list, tuple)) else [cfg]
    problems = []
    for i, metric in enumerate(metrics):
        if not isinstance(metric, dict):
            continue
        at = f'{where}.{i}' if isinstance(cfg, (list, tuple)) else where
        for key in METRIC_FILE_KEYS:
            path = _path(metric.get(key))
            if path and not osp.isfile(path):
                problems.append(f'{at}.{key}: no file at {path}')
    return problems


def missing_data_files(cfg: Any, loops: Iterable[str]) -> List[str]:
    """One line per missing path that the dataloaders and evaluators of
    ``loops`` (``'train'``, ``'val'``, ``'test'``) name."""
    problems: List[str] = []
    for loop in loops:
        loader = cfg.get(f'{loop}_dataloader')
        if not isinstance(loader, dict):
            continue
        found, generates = _dataset_problems(
            loader.get('dataset'), f'{loop}_dataloader.dataset')
        problems += found
        evaluator = cfg.get(f'{loop}_evaluator')
        if loop != 'train' and evaluator and not generates:
            problems += _evaluator_problems(evaluator, f'{loop}_evaluator')
    return problems


def check_data_files(cfg: Any, loops: Iterable[str]) -> None:
    """Stop with one line per missing path (see :func:`missing_data_files`).
    """
    problems = missing_data_files(cfg, loops)
    if problems:
        example = problems[0].split(':')[0]
        raise SystemExit(
            'error: the config names data that is not there:\n  ' +
            '\n  '.join(problems) + '\nPrepare the data (docs/'
            'custom_dataset.md, docs/detection.md) or point the config at '
            f'it, e.g. --cfg-options {example}=PATH')
