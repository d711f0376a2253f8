"""Infer a model's architecture from the shapes of its mmvmae state dict."""
import re
from typing import Dict, Optional

import torch

from .report import ConversionError

# heads of the released models; the weights do not say how many there are
ENCODER_HEADS = {384: 6, 768: 12, 1024: 16, 1280: 16, 1408: 16}
DECODER_HEADS = {192: 3, 384: 6, 512: 8, 640: 8}


def count_blocks(state: Dict[str, torch.Tensor], prefix: str) -> int:
    """Number of blocks ``{prefix}blocks.N.*``; checks they are contiguous."""
    pattern = re.compile(re.escape(prefix) + r'blocks\.(\d+)\.')
    ids = {int(m.group(1)) for k in state if (m := pattern.match(k))}
    if ids and ids != set(range(len(ids))):
        raise ConversionError(
            f'{prefix}blocks has indices {sorted(ids)}: blocks are missing')
    return len(ids)


def resolve_heads(dim: int, given: Optional[int], table: Dict[int, int],
                  what: str, option: str) -> int:
    """The number of attention heads: as given, else from the known sizes."""
    heads = given if given is not None else table.get(dim)
    if heads is None:
        raise ConversionError(
            f'cannot tell the number of {what} attention heads for width '
            f'{dim} from the weights (known widths: {sorted(table)}); pass '
            f'{option}')
    if dim % heads:
        raise ConversionError(
            f'{what} width {dim} is not divisible by {heads} heads ({option})')
    return heads


def infer_arch(state: Dict[str, torch.Tensor],
               num_heads: Optional[int] = None,
               decoder_num_heads: Optional[int] = None) -> Dict:
    """Architecture facts from a state dict in the mmvmae layout.

    Returns a plain dict (storable in ``meta``): ``embed_dims, depth,
    num_heads, mlp_ratio, mlp_hidden, patch_size, tubelet_size,
    in_channels, qkv_bias, layer_scale, out_type ('avg' | 'tokens'),
    num_classes`` (None without a head) and ``decoder`` (None without one:
    ``embed_dims, depth, num_heads, mlp_ratio, mlp_hidden, out_dims``).
    """
    proj = state.get('backbone.patch_embed.proj.weight')
    if proj is None or proj.dim() != 5:
        raise ConversionError('no Conv3d patch embedding '
                              '(backbone.patch_embed.proj.weight) found')
    dim, in_channels, tubelet, patch_h, patch_w = proj.shape
    if patch_h != patch_w:
        raise ConversionError(f'non-square patches {patch_h}x{patch_w} are '
                              'not supported')
    depth = count_blocks(state, 'backbone.')
    if depth == 0:
        raise ConversionError('no transformer blocks (backbone.blocks.N.*)')
    mlp_hidden = state['backbone.blocks.0.mlp.fc1.weight'].shape[0]
    has_fc_norm = 'backbone.fc_norm.weight' in state
    has_norm = 'backbone.norm.weight' in state
    if not has_norm and 'neck.encoder_to_decoder.weight' in state:
        raise ConversionError(
            'a pretraining model without a final encoder norm (HF '
            'VideoMAEForPreTraining with use_mean_pooling=True): '
            'VideoMAEViT normalises its token output, so it has no '
            'equivalent')
    if not has_fc_norm and not has_norm:
        raise ConversionError(
            'no final norm (backbone.norm or backbone.fc_norm): VideoMAEViT '
            'always ends with one, so there is no equivalent model. A Hugging '
            'Face VideoMAEModel with use_mean_pooling=True has none (its '
            'fc_norm belongs to VideoMAEForVideoClassification): convert the '
            'classification model, or a VideoMAEModel with '
            'use_mean_pooling=False')
    if has_fc_norm and has_norm:
        raise ConversionError(
            'expected one final norm (backbone.norm for token features or '
            'backbone.fc_norm for mean pooling), found both')
    arch = dict(
        embed_dims=dim, depth=depth,
        num_heads=resolve_heads(dim, num_heads, ENCODER_HEADS, 'encoder',
                                '--num-heads'),
        mlp_ratio=mlp_hidden / dim, mlp_hidden=mlp_hidden,
        patch_size=patch_h, tubelet_size=tubelet, in_channels=in_channels,
        qkv_bias='backbone.blocks.0.attn.q_bias' in state,
        layer_scale='backbone.blocks.0.gamma_1' in state,
        out_type='avg' if has_fc_norm else 'tokens',
        num_classes=None, decoder=None)
    if 'cls_head.fc_cls.weight' in state:
        arch['num_classes'] = state['cls_head.fc_cls.weight'].shape[0]
    if 'neck.encoder_to_decoder.weight' in state:
        arch['decoder'] = _infer_decoder(state, decoder_num_heads)
    return arch


def _infer_decoder(state: Dict[str, torch.Tensor],
                   decoder_num_heads: Optional[int]) -> Dict:
    dim = state['neck.encoder_to_decoder.weight'].shape[0]
    depth = count_blocks(state, 'neck.')
    if depth == 0 or 'neck.head.weight' not in state:
        raise ConversionError('a pretraining decoder needs neck.blocks.N.* '
                              'and neck.head')
    mlp_hidden = state['neck.blocks.0.mlp.fc1.weight'].shape[0]
    return dict(
        embed_dims=dim, depth=depth,
        num_heads=resolve_heads(dim, decoder_num_heads, DECODER_HEADS,
                                'decoder', '--decoder-num-heads'),
        mlp_ratio=mlp_hidden / dim, mlp_hidden=mlp_hidden,
        out_dims=state['neck.head.weight'].shape[0],
        qkv_bias='neck.blocks.0.attn.q_bias' in state)
