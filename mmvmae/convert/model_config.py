"""The mmvmae model config of a converted checkpoint, and building it.

``arch`` is the dict :func:`mmvmae.convert.arch.infer_arch` returns, with
the source's settings merged in (LayerNorm eps of each norm, input size).
"""
from typing import Dict

import torch
from torch import nn

from mmvmae.models.utils.data_preprocessor import \
    default_data_preprocessor
from .report import ConversionError


def _ratio(hidden: int, dim: int) -> float:
    """An MLP ratio with ``int(dim * ratio) == hidden`` (as Block computes)."""
    ratio = hidden / dim
    return ratio if int(dim * ratio) == hidden else (hidden + 0.5) / dim


def num_tokens(arch: Dict) -> int:
    """Tokens of the full grid at the recorded input size."""
    size = arch['img_size']
    h, w = (size, size) if isinstance(size, int) else size
    return (arch['num_frames'] // arch['tubelet_size']) * \
        (h // arch['patch_size']) * (w // arch['patch_size'])


def backbone_config(arch: Dict) -> Dict:
    cfg = dict(
        type='VideoMAEViT',
        arch=dict(embed_dims=arch['embed_dims'], depth=arch['depth'],
                  num_heads=arch['num_heads'],
                  mlp_ratio=_ratio(arch['mlp_hidden'], arch['embed_dims']),
                  patch_size=arch['patch_size']),
        img_size=arch['img_size'], num_frames=arch['num_frames'],
        tubelet_size=arch['tubelet_size'], in_channels=arch['in_channels'],
        qkv_bias=arch['qkv_bias'],
        # any positive value creates gamma_1/gamma_2; the weights overwrite it
        layer_scale_init_value=0.1 if arch['layer_scale'] else 0.,
        norm_eps=arch['norm_eps'],
        final_norm_eps=arch.get('fc_norm_eps', arch['norm_eps']),
        out_type=arch['out_type'])
    return cfg


def model_config(arch: Dict) -> Dict:
    """A ``VideoMAE`` (with a decoder) or ``Recognizer3D`` config for
    ``arch``; a backbone alone is a ``Recognizer3D`` without ``cls_head``,
    so that its keys are ``backbone.*`` as in every mmvmae checkpoint."""
    backbone = backbone_config(arch)
    dec = arch.get('decoder')
    if dec is not None:
        if not dec['qkv_bias']:
            raise ConversionError('the decoder has no q/v biases; '
                                  'VideoMAEDecoder always has them')
        if dec['out_dims'] != arch['in_channels'] * arch['tubelet_size'] * \
                arch['patch_size']**2:
            raise ConversionError(
                f"decoder head predicts {dec['out_dims']} values per token, "
                'not in_channels * tubelet * patch**2')
        neck = dict(
            type='VideoMAEDecoder', in_channels=arch['embed_dims'],
            embed_dims=dec['embed_dims'], depth=dec['depth'],
            num_heads=dec['num_heads'],
            mlp_ratio=_ratio(dec['mlp_hidden'], dec['embed_dims']),
            patch_size=arch['patch_size'], tubelet_size=arch['tubelet_size'],
            in_pixels=arch['in_channels'], num_tokens=num_tokens(arch),
            norm_eps=arch['decoder_norm_eps'],
            final_norm_eps=arch.get('decoder_final_norm_eps',
                                    arch['decoder_norm_eps']))
        head = dict(type='VideoMAEPretrainHead',
                    norm_pix=arch.get('norm_pix_loss', True),
                    patch_size=arch['patch_size'],
                    tubelet_size=arch['tubelet_size'])
        return dict(type='VideoMAE', backbone=backbone, neck=neck, head=head)
    model = dict(type='Recognizer3D', backbone=backbone,
                 data_preprocessor=default_data_preprocessor())
    if arch.get('num_classes'):
        model['cls_head'] = dict(type='VideoMAEClsHead',
                                 num_classes=arch['num_classes'],
                                 in_channels=arch['embed_dims'])
    return model


def build_model(arch: Dict, device: str = 'cpu') -> nn.Module:
    """Build the mmvmae model of ``arch`` (random weights) in eval mode.

    The source's LayerNorm eps travel in the config: ``norm_eps`` for the
    blocks, ``final_norm_eps`` for ``fc_norm`` / the decoder norm (Hugging
    Face builds those with 1e-5).
    """
    import mmvmae
    from mmengine.registry import DefaultScope

    from mmvmae.registry import MODELS
    mmvmae.register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmvmae'), torch.device(device):
        model = MODELS.build(model_config(arch))
    return model.eval()


def check_placement(state: Dict[str, torch.Tensor], arch: Dict) -> None:
    """Every tensor has a place in the model of ``arch`` and vice versa.

    The model is built on the meta device (no memory), so this is cheap
    even for ViT-g.
    """
    expected = build_model(arch, device='meta').state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ConversionError(
            f'the converted weights do not fit the inferred mmvmae model: '
            f'missing {missing[:8]}, unexpected {unexpected[:8]}')
    for key, value in state.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ConversionError(
                f'{key}: shape {tuple(value.shape)} but the inferred model '
                f'has {tuple(expected[key].shape)}')
