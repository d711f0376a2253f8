"""Read a checkpoint file or HF directory and tell which layout it has."""
import argparse
import json
import os.path as osp
from typing import Dict, Optional, Tuple

import torch

from .report import ConversionError

FORMATS = ('videomae', 'videomaev2', 'mmaction2', 'hf', 'mmvmae')
_HF_WEIGHTS = ('model.safetensors', 'pytorch_model.bin')
_WRAPPERS = ('state_dict', 'module', 'model')


def _torch_load(path: str):
    """``weights_only=True`` always; the original releases pickle their
    training ``args`` as an ``argparse.Namespace`` of plain values, which is
    the one extra global allowed here."""
    import mmvmae  # noqa: F401  (its allowlist covers mmengine checkpoints)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the path
        raise ConversionError(
            f'cannot read {path} as a weights-only torch checkpoint: {err}. '
            'Checkpoints are never loaded with weights_only=False') from err


def _load_safetensors(path: str) -> Dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    try:
        return load_file(path)
    except Exception as err:  # noqa: BLE001
        raise ConversionError(f'cannot read {path} as safetensors: {err}')


def _read_hf_dir(path: str) -> Tuple[Dict, Dict]:
    config_path = osp.join(path, 'config.json')
    if not osp.isfile(config_path):
        raise ConversionError(f'{path} is a directory without config.json; '
                              'expected a Hugging Face model directory')
    with open(config_path) as f:
        config = json.load(f)
    if config.get('model_type') not in (None, 'videomae'):
        raise ConversionError(f"{config_path}: model_type is "
                              f"{config.get('model_type')!r}, not 'videomae'")
    for name in _HF_WEIGHTS:
        weights = osp.join(path, name)
        if osp.isfile(weights):
            state = _load_safetensors(weights) if name.endswith(
                'safetensors') else _torch_load(weights)
            return state, config
    raise ConversionError(f'{path} has no {" or ".join(_HF_WEIGHTS)} '
                          '(sharded checkpoints are not supported)')


def load_source(path: str) -> Tuple[Dict[str, torch.Tensor], Optional[Dict],
                                    Dict]:
    """Load a checkpoint.

    Returns:
        ``(state_dict, hf_config or None, meta)``: the tensors (wrappers
        ``state_dict``/``module``/``model`` removed), the HF ``config.json``
        of a directory (or one next to a weights file) and the checkpoint's
        ``meta`` dict (mmvmae checkpoints; ``{'release_args': ...}``: the
        training arguments an original release pickles).
    """
    if not osp.exists(path):
        raise ConversionError(f'source not found: {path}')
    config, meta = None, {}
    if osp.isdir(path):
        state, config = _read_hf_dir(path)
    else:
        state = _load_safetensors(path) if path.endswith('.safetensors') \
            else _torch_load(path)
        sibling = osp.join(osp.dirname(path), 'config.json')
        if osp.isfile(sibling):
            with open(sibling) as f:
                config = json.load(f)
            if not isinstance(config, dict) or \
                    config.get('model_type') != 'videomae':
                config = None
    if not isinstance(state, dict):
        raise ConversionError(f'{path} holds a {type(state).__name__}, not a '
                              'dict of tensors')
    if isinstance(state.get('meta'), dict):
        meta = state['meta']
    elif isinstance(state.get('args'), (argparse.Namespace, dict)):
        # the original releases' training arguments
        meta = {'release_args': dict(vars(state['args']) if isinstance(
            state['args'], argparse.Namespace) else state['args'])}
    for wrapper in _WRAPPERS:
        if isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad or not state:
        raise ConversionError(
            f'{path}: expected a dict of tensors (optionally under '
            f'{"/".join(_WRAPPERS)}); found non-tensor entries {bad[:5]}'
            if bad else f'{path}: the checkpoint holds no tensors')
    # DataParallel / DistributedDataParallel prefix
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state, config, meta


def detect_format(state: Dict[str, torch.Tensor]) -> str:
    """One of ``videomae`` (V1 and V2 share the layout), ``mmaction2``,
    ``hf``, ``mmvmae``; raises on anything else."""
    keys = set(state)
    if any(k.startswith(('videomae.', 'embeddings.patch_embeddings'))
           for k in keys):
        return 'hf'
    if 'backbone.patch_embed.projection.weight' in keys:
        return 'mmaction2'
    if 'backbone.patch_embed.proj.weight' in keys:
        return 'mmvmae'
    if {'encoder.patch_embed.proj.weight', 'patch_embed.proj.weight'} & keys:
        return 'videomae'
    sample = ', '.join(sorted(keys)[:8])
    raise ConversionError(
        'unknown checkpoint layout: no VideoMAE patch embedding found (looked '
        'for encoder.patch_embed.proj / patch_embed.proj (VideoMAE, V2), '
        'backbone.patch_embed.projection (mmaction2), videomae.embeddings '
        f'(Hugging Face), backbone.patch_embed.proj (mmvmae)); first keys: '
        f'{sample}')
