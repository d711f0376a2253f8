"""Build a model from a config and load a checkpoint into it."""
from pathlib import Path
from typing import List, Optional, Union

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from torch import nn

from mmvmae.models.utils.pretrained_loader import (resolve_checkpoint,
                                                   unwrap_state_dict)
from mmvmae.utils.config_check import read_config


def default_device() -> str:
    """``'cuda:0'`` when a GPU is visible, else ``'cpu'``."""
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def _available_devices() -> List[str]:
    """The devices :func:`check_device` accepts on this machine."""
    devices = ['cpu']
    for backend in ('cuda', 'xpu'):  # numbered: 'cuda', 'cuda:0', ...
        module = getattr(torch, backend, None)
        if module is not None and module.is_available():
            count = module.device_count()
            devices += [backend] + [f'{backend}:{i}' for i in range(count)]
    if torch.backends.mps.is_available():
        devices.append('mps')
    return devices


def check_device(device: Union[str, torch.device]) -> torch.device:
    """``device`` as a ``torch.device``; ``ValueError`` naming the accepted
    ones if it is not a device this machine has: 'cpu', 'cuda' or
    'cuda:N' (N below the GPU count), 'mps' or 'xpu' where torch reports
    them available; never 'meta' (no data) or another backend."""
    accepted = _available_devices()
    hint = f'use one of {", ".join(map(repr, accepted))}'
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f'device {device!r} is not a device '
                         f'({str(error).splitlines()[0]}); {hint}') from None
    if parsed.type == 'cpu' or str(parsed) in accepted or (
            parsed.type == 'mps' and parsed.index == 0 and 'mps' in accepted):
        return parsed
    if parsed.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError(f"device '{parsed}': CUDA is not available on this "
                         f'machine; {hint}')
    if parsed.type == 'cuda':
        count = torch.cuda.device_count()
        raise ValueError(f"device '{parsed}': this machine has {count} GPU"
                         f'{"s" if count != 1 else ""}; {hint}')
    raise ValueError(f"device '{parsed}' is not available here; {hint}")


def load_model_weights(model: nn.Module, checkpoint: str) -> str:
    """Load every weight of ``model`` from ``checkpoint`` (a file, URL or
    a work dir with ``last_checkpoint``); returns the resolved path.

    Raises ``CheckpointError`` (a ``ValueError``) when the file is refused
    or unreadable, or does not fit the model exactly (missing, extra or
    differently shaped weights): it was made for another config, or is in
    another layout (convert it with ``tools/convert_checkpoint.py``).
    """
    from mmvmae.utils.config_check import (check_checkpoint_fits,
                                           load_checkpoint_safely)
    path = resolve_checkpoint(checkpoint)
    # weights_only loading (allowlist in mmvmae.utils.upstream_fixes)
    state = unwrap_state_dict(load_checkpoint_safely(path))
    check_checkpoint_fits(model, dict(state_dict=state), f'checkpoint {path}')
    model.load_state_dict(state, strict=True)
    return path


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Optional[Union[str, torch.device]] = None,
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the model of ``config`` in eval mode, with weights.

    Args:
        config: config file or :class:`Config` (a recognizer for
            classification and features, a ``VideoMAE`` pretraining model
            for features and reconstruction).
        checkpoint: mmvmae/mmengine checkpoint file, URL or work dir. None
            keeps random weights (with a warning).
        device: e.g. ``'cuda:0'``, ``'cpu'``; defaults to ``default_device()``.
        cfg_options: overrides merged into the config first.

    Returns:
        nn.Module: the model, with the config as ``model.cfg``.
    """
    import mmvmae
    from mmvmae.registry import MODELS

    if isinstance(config, (str, Path)):
        config = read_config(config)
    elif not isinstance(config, Config):
        raise TypeError('config must be a file path or an mmengine Config, '
                        f'got {type(config).__name__}')
    else:
        config = config.copy()
    device = check_device(device or default_device())
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if 'model' not in config:
        raise ValueError('config has no `model` field')
    mmvmae.register_all_modules(init_default_scope=False)
    init_default_scope(config.get('default_scope', 'mmvmae'))
    model = MODELS.build(config.model)
    if checkpoint is None:
        print_log('init_model: no checkpoint given, the model keeps random '
                  'weights', logger='current', level=30)
    else:
        load_model_weights(model, checkpoint)
    model.cfg = config
    return model.to(device).eval()
