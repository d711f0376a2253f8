"""Clear errors for bad configs and checkpoints, for the command-line tools.

* :func:`unknown_type_message`: turns mmengine's "X is not in the
  mmvmae::model registry" ``KeyError`` into a message naming the config
  fields that use ``X`` and the closest registered names.
* :func:`load_checkpoint_safely`: ``weights_only`` loading with an error
  that says why a checkpoint was refused.
* :func:`check_checkpoint_fits`: every weight of a checkpoint that the model
  also has must have the model's shape (a classifier trained for 400
  classes is not silently dropped when testing a 101-class model).
"""
import contextlib
import difflib
import pickle
import re
from typing import Any, Dict, Iterator, List, Optional

from torch import nn

_UNKNOWN = re.compile(r'^(\S+) is not in the (\S+)::(.+?) registry')


def _registry_names(scope: str, name: str) -> List[str]:
    """Names a build in ``scope`` can reach: the registry and its parents."""
    from mmengine.registry import Registry

    import mmvmae.registry as ours
    registries = [r for r in vars(ours).values()
                  if isinstance(r, Registry) and r.name == name]
    names = set()
    for registry in registries:
        while registry is not None:
            names.update(registry.module_dict)
            registry = registry.parent
    return sorted(names)


def _fields_with_type(cfg: Any, type_name: str, prefix: str = '') -> List[str]:
    """Dotted config paths of the dicts whose ``type`` is ``type_name``."""
    found = []
    if isinstance(cfg, dict):
        if cfg.get('type') == type_name:
            found.append(f'{prefix}.type' if prefix else 'type')
        for key, value in cfg.items():
            found += _fields_with_type(value, type_name,
                                       f'{prefix}.{key}' if prefix else key)
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            found += _fields_with_type(value, type_name, f'{prefix}[{i}]')
    return found


def unknown_type_message(error: KeyError, cfg: Optional[Dict] = None
                         ) -> Optional[str]:
    """A readable message for an unknown ``type`` name, or None if
    ``error`` is not mmengine's unknown-type error."""
    text = error.args[0] if error.args else ''
    match = _UNKNOWN.match(str(text))
    if match is None:
        return None
    type_name, scope, registry = match.groups()
    names = _registry_names(scope, registry)
    close = difflib.get_close_matches(type_name, names, n=5, cutoff=0.5)
    fields = _fields_with_type(dict(cfg or {}), type_name)
    where = f" (config field {', '.join(fields)})" if fields else ''
    hint = f'; did you mean {", ".join(close)}?' if close else \
        f'; registered names include {", ".join(names[:20])}'
    return (f"unknown type '{type_name}'{where} in the {scope}::{registry} "
            f'registry{hint}')


@contextlib.contextmanager
def exit_on_unknown_type(cfg: Optional[Dict] = None) -> Iterator[None]:
    """Turn mmengine's unknown-type ``KeyError`` raised inside the block
    into ``SystemExit`` with :func:`unknown_type_message`; other errors pass.
    """
    try:
        yield
    except KeyError as error:
        message = unknown_type_message(error, cfg)
        if message is None:
            raise
        raise SystemExit(f'error: {message}') from None


def load_checkpoint_safely(path: str, mmap: bool = False) -> dict:
    """Load ``path`` with ``weights_only=True`` (plus the mmengine
    allowlist); a refused file raises ``ValueError`` saying why.

    ``mmap=True`` (a local file in torch's zip format) maps the tensors
    instead of reading them: enough to check shapes without reading a
    multi-GB file twice. Other files are read whole.
    """
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint
    try:
        if mmap:
            try:
                return torch.load(path, map_location='cpu',
                                  weights_only=True, mmap=True)
            except RuntimeError as error:  # legacy (non-zip) format
                if 'mmap' not in str(error):
                    raise
        return _load_checkpoint(path, map_location='cpu')
    except pickle.UnpicklingError as error:
        raise ValueError(
            f'refused to load checkpoint {path}: it holds objects other than '
            'weights and training state (weights_only loading); it may run '
            'code when unpickled. Details: ' + str(error).splitlines()[0]
        ) from None


def check_checkpoint_fits(model: nn.Module, checkpoint: dict,
                          path: str = 'the checkpoint') -> None:
    """Raise ``ValueError`` listing the weights whose shapes differ between
    ``checkpoint`` (its ``state_dict``) and ``model``."""
    state = checkpoint.get('state_dict', checkpoint)
    model = getattr(model, 'module', model)
    if not isinstance(model, nn.Module):  # FlexibleRunner builds it later
        return
    own = model.state_dict()
    bad = [
        f'{key}: checkpoint {tuple(value.shape)} vs model '
        f'{tuple(own[key].shape)}'
        for key, value in state.items()
        if key in own and hasattr(value, 'shape')
        and tuple(value.shape) != tuple(own[key].shape)
    ]
    if bad:
        head = any('cls_head' in line or 'fc_cls' in line for line in bad)
        hint = ' (model.cls_head.num_classes must match the checkpoint)' \
            if head else ''
        raise ValueError(f'{path} does not fit the model{hint}: ' +
                         '; '.join(bad[:8]))
