"""Check that the data a run's config names exists, before anything is built.

A missing annotation list or video folder otherwise surfaces as a traceback
once the model is built, and a missing evaluation file (AVA's ground truth,
read by the metric) only after the first training epoch. ``tools/train.py``
and ``tools/test.py`` call :func:`check_data_files` first and stop with one
line per missing path.

Paths are resolved as mmengine's ``BaseDataset`` does: ``ann_file`` and the
``data_prefix`` folders relative to ``data_root``; AVA's ``exclude_file``,
``label_file`` and ``proposal_file`` as written (mmaction2 opens them so).
Not checked: remote paths (``s3://...``), datasets with ``lazy_init=True``
or ``backend_args`` (read later or through a storage backend), and datasets
that make their own files (``generates_data = True``: the demo sets), whose
evaluators read files those datasets write.
"""
import os.path as osp
from typing import Any, Iterable, List, Optional, Tuple

from mmvmae.registry import DATASETS

FILE_KEYS = ('ann_file', 'exclude_file', 'label_file', 'proposal_file')
JOINED_KEYS = ('ann_file', )  # joined with data_root (mmengine)


def _local(path: Any) -> bool:
    return isinstance(path, str) and bool(path) and '://' not in path


def _dataset_class(type_name: Any) -> Optional[type]:
    if isinstance(type_name, type):
        return type_name
    try:
        return DATASETS.get(type_name) if isinstance(type_name, str) \
            else None
    except Exception:  # an unknown type is reported when it is built
        return None


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
    cls = _dataset_class(cfg.get('type'))
    if getattr(cls, 'generates_data', False):
        return problems, True
    if cfg.get('lazy_init') or cfg.get('backend_args'):
        return problems, generates
    root = cfg.get('data_root') or ''
    if _local(root) and not osp.isdir(root):
        # everything below it is missing too: one line says it
        return problems + [f'{where}.data_root: no folder at {root}'], \
            generates
    for key in FILE_KEYS:
        path = cfg.get(key)
        if not _local(path):
            continue
        if key in JOINED_KEYS and root and not osp.isabs(path):
            path = osp.join(root, path)
        if not osp.isfile(path):
            problems.append(f'{where}.{key}: no file at {path}')
    prefixes = cfg.get('data_prefix')
    for key, prefix in (prefixes.items() if isinstance(prefixes, dict)
                        else ()):
        if not _local(prefix):
            continue
        path = prefix if osp.isabs(prefix) or not root else \
            osp.join(root, prefix)
        if not osp.isdir(path):
            problems.append(f'{where}.data_prefix.{key}: no folder at {path}')
    return problems, generates


def _evaluator_problems(cfg: Any, where: str) -> List[str]:
    metrics = cfg if isinstance(cfg, (list, tuple)) else [cfg]
    problems = []
    for i, metric in enumerate(metrics):
        if not isinstance(metric, dict):
            continue
        at = f'{where}.{i}' if isinstance(cfg, (list, tuple)) else where
        for key in FILE_KEYS:
            path = metric.get(key)
            if _local(path) and not osp.isfile(path):
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
