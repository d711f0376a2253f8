"""Clear errors for bad configs and checkpoints, for the command-line tools.

* :func:`unknown_type_message`: turns mmengine's "X is not in the
  mmvmae::model registry" ``KeyError`` into a message naming the config
  fields that use ``X`` and the closest registered names.
* :func:`load_checkpoint_safely`: ``weights_only`` loading with an error
  that says why a checkpoint was refused or could not be read.
* :func:`check_checkpoint_fits`: a checkpoint must hold exactly the
  model's weights, with the model's shapes (a classifier trained for 400
  classes is not silently dropped when testing a 101-class model, and a
  pretraining or Hugging Face checkpoint is not tested with random layers).
* :class:`CfgOptionsAction`: ``--cfg-options`` with a usage error for an
  item without ``=``; :func:`read_config`: a config file that does not
  load (a syntax error) is a one-line error.
"""
import argparse
import contextlib
import copy
import difflib
import inspect
import os.path as osp
import pickle
import re
import traceback
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

from mmengine.config import Config, DictAction
from torch import nn


class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction`` (``key=value`` items), with a usage error
    naming an item without ``=`` instead of its unpacking traceback."""

    def __call__(self, parser: argparse.ArgumentParser, namespace, values,
                 option_string: Optional[str] = None) -> None:
        bad = [value for value in values if '=' not in value]
        if bad:
            parser.error(f'{option_string} takes key=value items, got '
                         f'{bad[0]!r}')
        super().__call__(parser, namespace, values, option_string)


def read_config(path: Union[str, Path]) -> Config:
    """The config file at ``path``; ``FileNotFoundError`` if there is none,
    ``ValueError`` (one line) if it does not load: a Python syntax error,
    or an error while it runs (an undefined name, a failing import)."""
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config: no file at {path}')
    try:
        return Config.fromfile(path)
    except SyntaxError as error:
        raise ValueError(f'config {path}: syntax error in line '
                         f'{error.lineno}: {error.msg}') from None
    except FileNotFoundError:  # a missing _base_ file: names it
        raise
    except Exception as error:  # it runs as Python: anything can fail
        raise ValueError(f'config {path}: cannot load it ('
                         f'{type(error).__name__}: {error})') from None


class ConfigError(ValueError):
    """A config value (or run set-up) mmvmae refuses; the tools print it as
    ``error: ...`` (``exit_on_unknown_type``)."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: refused, unreadable, or made for
    another model. The message names the file."""


_UNKNOWN = re.compile(r'^(\S+) is not in the (\S+)::(.+?) registry')


def _registry_chains(name: Optional[str] = None) -> Iterator[Any]:
    """mmvmae's registries (those called ``name`` if given), each followed
    by its parents (mmaction2's, mmengine's)."""
    from mmengine.registry import Registry

    import mmvmae.registry as ours
    for registry in vars(ours).values():
        if isinstance(registry, Registry) and name in (None, registry.name):
            while registry is not None:
                yield registry
                registry = registry.parent


def _registry_names(scope: str, name: str) -> List[str]:
    """Names a build in ``scope`` can reach: the registry and its parents."""
    return sorted({key for registry in _registry_chains(name)
                   for key in registry.module_dict})


def _config_dicts(cfg: Any, prefix: str = '') -> Iterator[tuple]:
    """``(dotted path, dict)`` of every dict in the config ``cfg``."""
    if isinstance(cfg, dict):
        yield prefix, cfg
        for key, value in cfg.items():
            yield from _config_dicts(value, _field(prefix, key))
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            yield from _config_dicts(value, f'{prefix}[{i}]')


def _field(prefix: str, key: str) -> str:
    return f'{prefix}.{key}' if prefix else key


def _fields_with_type(cfg: Any, type_name: str) -> List[str]:
    """Dotted config paths of the dicts whose ``type`` is ``type_name``."""
    return [_field(path, 'type') for path, d in _config_dicts(cfg)
            if d.get('type') == type_name]


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


def _fields_with_key(cfg: Any, key: str) -> List[tuple]:
    """``(dotted path, type)`` of the typed config dicts that set ``key``."""
    return [(_field(path, key), d['type']) for path, d in _config_dicts(cfg)
            if key in d and 'type' in d]


def _init_arguments(type_name: str) -> List[str]:
    """Keyword arguments the registered class ``type_name`` accepts (its
    ``__init__`` and, through ``**kwargs``, its bases')."""
    for registry in _registry_chains():
        cls = registry.module_dict.get(type_name)
        if inspect.isclass(cls):
            names = []
            for klass in cls.__mro__:
                if '__init__' not in vars(klass):
                    continue
                params = inspect.signature(klass.__init__).parameters
                names += [n for n, p in params.items() if n != 'self'
                          and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
                if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
                    break
            return sorted(set(names))
    return []


def unknown_argument_message(error: TypeError, cfg: Optional[Dict] = None
                             ) -> Optional[str]:
    """A readable message for a config dict with an argument its class does
    not take (``TypeError: ... unexpected keyword argument 'x'``), or None
    if ``error`` is not that or no config field sets the argument."""
    match = re.search(r"unexpected keyword argument '(\w+)'", str(error))
    if match is None:
        return None
    key = match.group(1)
    # leave out the dicts whose class does take the argument
    fields = [(path, type_name) for path, type_name in _fields_with_key(
        dict(cfg or {}), key) if key not in _init_arguments(str(type_name))]
    if not fields:
        return None
    paths = ', '.join(path for path, _ in fields)
    types = sorted({str(type_name) for _, type_name in fields})
    allowed = sorted({n for t in types for n in _init_arguments(t)})
    close = difflib.get_close_matches(key, allowed, n=3, cutoff=0.5)
    hint = f'; did you mean {", ".join(close)}?' if close else (
        f'; it takes {", ".join(allowed)}' if allowed else '')
    return (f"{'/'.join(types)} has no argument '{key}' (config field "
            f'{paths}){hint}')


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - arrays, tensors: not one truth value
        return False


def refused_value_message(error: ValueError, cfg: Optional[Dict] = None
                          ) -> Optional[str]:
    """``Type (config field path): message`` for a ``ValueError`` that a
    class's own checks (in its module, or in mmvmae) raised while mmengine's
    registry built it from a config dict: a value it refuses. None for one
    raised anywhere else, or deeper (numpy, torch: a bug keeps its
    traceback). The innermost ``build_from_cfg`` of the traceback names the
    class."""
    built, raised_in = None, ''
    for frame, _ in traceback.walk_tb(error.__traceback__):
        raised_in = osp.abspath(frame.f_code.co_filename)
        if frame.f_code.co_name == 'build_from_cfg' and \
                raised_in.endswith('build_functions.py'):
            built = frame.f_locals
    if not built or 'obj_cls' not in built:
        return None
    cls, args = built['obj_cls'], dict(built.get('args') or {})
    try:
        own = osp.abspath(inspect.getsourcefile(cls) or '')
    except TypeError:  # a built-in
        own = ''
    ours = osp.dirname(osp.dirname(osp.abspath(__file__)))
    if raised_in != own and not raised_in.startswith(ours + osp.sep):
        return None
    name = getattr(cls, '__name__', str(cls))
    typed = [(path, d) for path, d in _config_dicts(dict(cfg or {}))
             if d.get('type') in (name, cls)]
    # the dicts this build came from: every value they set was passed
    same = [path for path, d in typed if all(
        key in args and _equal(args[key], value)
        for key, value in d.items() if key != 'type')]
    fields = same or [path for path, _ in typed]
    where = f" (config field {', '.join(fields)})" if fields else ''
    return f'{name}{where}: {error}'


@contextlib.contextmanager
def exit_on_unknown_type(cfg: Optional[Dict] = None) -> Iterator[None]:
    """Turn mmengine's unknown-type ``KeyError``, the ``TypeError`` of a
    config dict with an argument its class does not take and the
    ``ValueError`` of a value a class refuses while it is built from the
    config, raised inside the block, into ``SystemExit`` with a message
    naming the config field, and a :class:`ConfigError` into ``SystemExit``
    with its message; other errors pass.

    The fields are named as ``cfg`` is on entry: building a runner rewrites
    the config (e.g. ``sample_seeding`` wraps ``train_dataloader.dataset``),
    and the message should name the fields the user wrote.
    """
    written = copy.deepcopy(cfg)
    try:
        yield
    except ConfigError as error:
        raise SystemExit(f'error: {error}') from None
    except (KeyError, TypeError, ValueError) as error:
        explain = unknown_type_message if isinstance(error, KeyError) else \
            unknown_argument_message if isinstance(error, TypeError) else \
            refused_value_message
        message = explain(error, written)
        if message is None:
            raise
        raise SystemExit(f'error: {message}') from None


def load_checkpoint_safely(path: str, mmap: bool = False) -> dict:
    """Load ``path`` with ``weights_only=True`` (plus the mmengine
    allowlist). A file it refuses (objects other than weights, which may
    run code) or cannot read (empty, truncated, not a PyTorch file) raises
    :class:`CheckpointError` saying which; a missing file stays an
    ``OSError``.

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
    except OSError:
        raise
    except pickle.UnpicklingError as error:
        # torch names what its weights-only unpickler refused: a global
        # not on the allowlist, or one from a module it blocks (os, posix)
        refused = [
            line.split('WeightsUnpickler error:')[-1].strip()
            for line in str(error).splitlines()
            if re.search('unsupported (global|class)', line, re.IGNORECASE)
        ]
        if refused:
            why = refused[0].split('. ')[0]
            raise CheckpointError(
                f'refused to load checkpoint {path}: it holds objects other '
                'than weights and training state (weights_only loading); it '
                f'may run code when unpickled. Details: {why}') from None
        raise _unreadable(path, error) from None
    except Exception as error:  # torch's zip reader, EOF, bad pickle data
        raise _unreadable(path, error) from None


def _first_line(error: Exception) -> str:
    """The first sentence of ``error`` (of what torch's weights-only
    unpickler refused, when it was that)."""
    text = str(error).split('WeightsUnpickler error:')[-1].strip()
    return (text.splitlines() or [''])[0].split('. ')[0]


def _unreadable(path: str, error: Exception) -> CheckpointError:
    return CheckpointError(
        f'cannot read checkpoint {path}: not a complete PyTorch checkpoint '
        f'(empty, truncated or another kind of file; '
        f'{type(error).__name__}: {_first_line(error)})')


def check_checkpoint_fits(model: nn.Module, checkpoint: dict,
                          path: str = 'the checkpoint') -> None:
    """Raise ``ValueError`` naming the weights that differ between
    ``checkpoint`` (its ``state_dict``) and ``model``: different shapes,
    weights of the model the checkpoint lacks (mmengine would leave them
    at their random init with a warning) and weights the model has no
    place for."""
    state = checkpoint.get('state_dict', checkpoint)
    if state and all(key.startswith('module.') for key in state):
        # mmengine's load_checkpoint strips this DataParallel prefix too
        state = {key[len('module.'):]: value for key, value in state.items()}
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
        # only the classifier differs: a head for another number of classes
        head = all('cls_head' in line or 'fc_cls' in line for line in bad)
        hint = ' (model.cls_head.num_classes must match the checkpoint)' \
            if head else ''
        raise CheckpointError(f'{path} does not fit the model{hint}: ' +
                              '; '.join(bad[:8]))
    missing = [key for key in own if key not in state]
    unexpected = [key for key in state if key not in own]
    if missing or unexpected:
        problems = [f'{len(keys)} {what} (e.g. {keys[:3]})'
                    for what, keys in (('model weights missing from it',
                                        missing),
                                       ('weights the model does not have',
                                        unexpected)) if keys]
        raise CheckpointError(
            f'{path} does not fit the model of this config: '
            + '; '.join(problems) + '. Use the config the checkpoint was '
            'trained with; convert released or Hugging Face weights with '
            'tools/convert_checkpoint.py first.')


def check_blending_classes(model_cfg) -> None:
    """Mixup / CutMix in ``model.data_preprocessor.blending`` make one-hot
    labels of their own ``num_classes``; unequal to
    ``model.cls_head.num_classes`` they only fail at the first iteration, as
    a numpy broadcast error in mmaction2's accuracy. Raise
    :class:`ConfigError` naming both fields instead."""
    if not isinstance(model_cfg, dict):
        return
    classes = (model_cfg.get('cls_head') or {}).get('num_classes')
    blending = (model_cfg.get('data_preprocessor') or {}).get('blending')
    if classes is None or not isinstance(blending, dict):
        return
    field = 'model.data_preprocessor.blending'
    augments = [(f'{field}.augments[{i}]', augment) for i, augment in
                enumerate(blending.get('augments') or [])] or [(field,
                                                                 blending)]
    for name, augment in augments:
        own = augment.get('num_classes')
        if own is not None and own != classes:
            raise ConfigError(
                f"{name} ({augment.get('type')}) has num_classes={own}, "
                f'model.cls_head.num_classes is {classes}: set both to the '
                'number of classes')


def check_pretrained_checkpoints(cfg) -> None:
    """Every ``VideoMAEPretrained`` initialiser's checkpoint must exist:
    a :class:`ConfigError` naming the field now, not a traceback once the
    model is built."""
    from mmvmae.models.utils.pretrained_loader import resolve_checkpoint
    for field, node in _config_dicts(cfg.get('model'), 'model'):
        if node.get('type') == 'VideoMAEPretrained':
            try:
                resolve_checkpoint(str(node.get('checkpoint')))
            except FileNotFoundError as error:
                raise ConfigError(
                    f'{field}.checkpoint: {error} (a pretraining run, or '
                    f'--cfg-options {field}.checkpoint=PATH)') from None
