"""Load the encoder of a VideoMAE checkpoint into a ``VideoMAEViT``.

Accepted checkpoints: mmvmae/mmengine ones (``state_dict`` with
``backbone.*`` and ``neck.*``), the original pretraining ones (``model`` with
``encoder.*`` and ``decoder.*``), original fine-tuned ones (``model`` or
``module`` with bare ``blocks.*``) and mmaction2 ones (``backbone.*`` with
``patch_embed.projection``/``mlp.layers``). Only the encoder is kept; the
decoder, heads and any stored position table are dropped, each with a note.
The backbone builds its own (interpolated) position table, so a checkpoint
pretrained on 16 frames at 224 loads into a 32-frame or 320-pixel model.

A checkpoint that does not fit the model (a shape mismatch, missing or extra
blocks) raises ``ValueError``: never a silent random init.
"""
import argparse
import os
import os.path as osp
import pickle
import re
from typing import Dict, List, Tuple

from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info
from mmengine.runner.checkpoint import CheckpointLoader
import torch
from torch import Tensor, nn

from mmvmae.registry import WEIGHT_INITIALIZERS
from .position_embedding import sinusoid_position_table

_WRAPPERS = ('state_dict', 'model', 'module')
_ENCODER_PREFIXES = ('backbone.', 'encoder.')
# mmaction2's VisionTransformer names -> ours
_RENAMES = (('patch_embed.projection.', 'patch_embed.proj.'),
            ('.mlp.layers.0.0.', '.mlp.fc1.'), ('.mlp.layers.1.', '.mlp.fc2.'))
# present in one mode of the backbone and not the other ('tokens'/'avg')
_OPTIONAL = ('norm.', 'fc_norm.')


def is_deepspeed_checkpoint(path: str) -> bool:
    """A folder as mmengine's DeepSpeedStrategy saves one checkpoint
    (``epoch_N.pth/`` holding ``*model_states.pt``)."""
    return osp.isdir(path) and any(
        name.endswith('model_states.pt') for name in os.listdir(path))


def is_checkpoint(path: str) -> bool:
    return osp.isfile(path) or is_deepspeed_checkpoint(path)


def resolve_checkpoint(path: str) -> str:
    """A ``.pth`` path (a DeepSpeed checkpoint folder too), a URL, or a work
    dir holding a ``last_checkpoint`` file (written by mmengine's
    CheckpointHook) -> the checkpoint to load.

    ``last_checkpoint`` holds the path the checkpoint was saved at; a file of
    that name inside the given work dir wins, so a copied or moved work dir
    uses its own checkpoints, not the original's."""
    if '://' in path or is_checkpoint(path):
        return path
    if osp.isdir(path):
        pointer = osp.join(path, 'last_checkpoint')
        if not osp.isfile(pointer):
            raise FileNotFoundError(
                f'checkpoint: {path} is a directory without a '
                '`last_checkpoint` file; pass a .pth file or a work dir of a '
                'finished run')
        with open(pointer) as f:
            target = f.read().strip()
        local = osp.join(path, osp.basename(target))
        if is_checkpoint(local):
            return local
        if not is_checkpoint(target):
            raise FileNotFoundError(
                f'checkpoint: {pointer} names {target}, which does not exist')
        return target
    raise FileNotFoundError(f'checkpoint: no file or work dir at {path}')


def unwrap_state_dict(checkpoint: dict) -> Dict[str, Tensor]:
    """Strip ``state_dict``/``model``/``module`` wrappers and ``module.``
    (DataParallel) key prefixes."""
    state = checkpoint
    while isinstance(state, dict) and any(
            key in state and isinstance(state[key], dict)
            for key in _WRAPPERS):
        state = next(state[key] for key in _WRAPPERS
                     if isinstance(state.get(key), dict))
    if not isinstance(state, dict) or not state:
        raise ValueError('checkpoint: no state dict found (expected a dict '
                         f'of tensors, maybe under {_WRAPPERS})')
    if all(key.startswith('module.') for key in state):
        state = {key[len('module.'):]: value for key, value in state.items()}
    return state


def encoder_state_dict(
        state: Dict[str, Tensor]) -> Tuple[Dict[str, Tensor], List[str]]:
    """Keep the encoder weights, renamed to ``VideoMAEViT`` names.

    Returns the encoder state dict and notes on what was dropped or renamed.
    """
    notes = []
    prefix = next((p for p in _ENCODER_PREFIXES
                   if any(key.startswith(p) for key in state)), '')
    encoder, dropped = {}, []
    for key, value in state.items():
        if not key.startswith(prefix):
            dropped.append(key)
            continue
        name = key[len(prefix):]
        if not prefix and not name.startswith(
                ('patch_embed.', 'blocks.', 'norm.', 'fc_norm.', 'pos_embed')):
            dropped.append(key)  # a bare fine-tuned checkpoint's head
            continue
        for old, new in _RENAMES:
            name = name.replace(old, new)
        encoder[name] = value
    if not any(k.startswith(('patch_embed.', 'blocks.')) for k in encoder):
        heads = sorted({key.split('.')[0] for key in state})
        raise ValueError(
            'checkpoint: no VideoMAE encoder weights found (looked for '
            f'backbone./encoder./bare patch_embed.*, blocks.*); its top-level '
            f'names are {heads}. Convert other layouts (e.g. Hugging Face) '
            'first.')
    if dropped:
        groups = sorted({key.split('.')[0] for key in dropped})
        notes.append(f'dropped {len(dropped)} non-encoder entries '
                     f'(decoder/head: {groups})')
    if 'pos_embed' in encoder:
        table = encoder.pop('pos_embed').float()
        table = table.reshape(-1, table.shape[-1])
        expected = sinusoid_position_table(*table.shape)[0]
        if not torch.allclose(table, expected, atol=1e-4, rtol=0):
            raise ValueError(
                f'checkpoint: the stored pos_embed {tuple(table.shape)} is '
                'not the fixed sinusoid table; a learned position embedding '
                'has no place in VideoMAEViT, which uses the fixed table')
        notes.append(f'dropped the stored fixed position table pos_embed '
                     f'{tuple(table.shape)} (verified equal to the sinusoid '
                     'table): the backbone builds its own for its input')
    return encoder, notes


def _block_ids(keys) -> set:
    return {int(m.group(1)) for m in map(re.compile(r'blocks\.(\d+)\.').match,
                                         keys) if m}


def check_fit(model_state: Dict[str, Tensor],
              encoder: Dict[str, Tensor]) -> Tuple[List[str], List[str]]:
    """Raise ``ValueError`` unless ``encoder`` fits ``model_state``.

    Returns (missing, unexpected) keys that are allowed: the norm layer of
    the other backbone mode (``norm`` for tokens, ``fc_norm`` for 'avg').
    """
    mismatched = [
        f'{key}: checkpoint {tuple(value.shape)} vs model '
        f'{tuple(model_state[key].shape)}' for key, value in encoder.items()
        if key in model_state and value.shape != model_state[key].shape
    ]
    missing = [key for key in model_state if key not in encoder]
    unexpected = [key for key in encoder if key not in model_state]
    depth_ckpt, depth_model = len(_block_ids(encoder)), len(
        _block_ids(model_state))
    bad_missing = [k for k in missing if not k.startswith(_OPTIONAL)]
    bad_unexpected = [k for k in unexpected if not k.startswith(_OPTIONAL)]
    problems = []
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatches, e.g. '
                        + '; '.join(mismatched[:4]))
    if bad_missing:
        problems.append(f'{len(bad_missing)} model weights missing from the '
                        f'checkpoint, e.g. {bad_missing[:4]}')
    if bad_unexpected:
        problems.append(f'{len(bad_unexpected)} checkpoint weights the model '
                        f'lacks, e.g. {bad_unexpected[:4]}')
    if problems:
        raise ValueError(
            'checkpoint: the encoder does not fit the backbone config '
            f'(checkpoint depth {depth_ckpt}, config depth {depth_model}): '
            + ' | '.join(problems) + '. Check arch (embed_dims/depth/'
            'num_heads), patch_size and tubelet_size against the checkpoint.')
    return missing, unexpected


def load_encoder_weights(module: nn.Module,
                         checkpoint: str,
                         map_location: str = 'cpu') -> Dict[str, List[str]]:
    """Load the encoder of ``checkpoint`` (file, URL or work dir) into a
    ``VideoMAEViT`` ``module``; returns ``missing``/``unexpected``/``notes``.
    """
    path = resolve_checkpoint(checkpoint)
    # mmengine's loader calls torch.load with weights_only=True by default
    # under torch >= 2.6 (allowlist in mmvmae.utils.upstream_fixes); the
    # original releases also pickle their training args as an
    # argparse.Namespace of plain values
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            raw = CheckpointLoader.load_checkpoint(path,
                                                   map_location=map_location)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f'cannot read {path} as a weights-only checkpoint (it pickles '
            f'objects other than tensors and plain values): {err}\n'
            'mmvmae never loads checkpoints with weights_only=False: that '
            'would run code from the file') from None
    encoder, notes = encoder_state_dict(unwrap_state_dict(raw))
    missing, unexpected = check_fit(module.state_dict(), encoder)
    module.load_state_dict(encoder, strict=False)
    if missing:
        notes.append(f'kept their fresh init (not in the checkpoint): '
                     f'{missing}')
    if unexpected:
        notes.append(f'unused checkpoint weights (other backbone mode): '
                     f'{unexpected}')
    print_log(f'loaded {len(encoder) - len(unexpected)} encoder weights '
              f'from {path}' + ''.join(f'\n  - {n}' for n in notes),
              logger='current')
    return dict(missing=missing, unexpected=unexpected, notes=notes)


@WEIGHT_INITIALIZERS.register_module(name='VideoMAEPretrained')
class VideoMAEPretrainedInit:
    """Weight initializer: ``init_cfg=dict(type='VideoMAEPretrained',
    checkpoint=PATH_OR_WORK_DIR)`` on a ``VideoMAEViT`` backbone.

    Unlike mmengine's ``Pretrained`` (non-strict, warns on mismatches), it
    keeps the encoder only, adapts key names and fails on a checkpoint that
    does not fit.
    """

    def __init__(self, checkpoint: str, map_location: str = 'cpu') -> None:
        self.checkpoint = checkpoint
        self.map_location = map_location
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        load_encoder_weights(module, self.checkpoint, self.map_location)
        # mmengine's BaseModule.init_weights runs this initializer *before*
        # calling children's own init_weights (e.g. the patch embedding's),
        # which would silently re-randomise loaded weights: mark them done.
        for child in module.modules():
            if child is not module and hasattr(child, 'init_weights'):
                child.is_init = True
        if hasattr(module, '_params_init_info'):
            update_init_info(
                module,
                init_info=f'VideoMAEPretrained: encoder of {self.checkpoint}')
