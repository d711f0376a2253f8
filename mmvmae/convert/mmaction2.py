"""mmaction2 ``vit_mae.VisionTransformer`` recognizers -> mmvmae.

mmaction2 names the patch embedding ``patch_embed.projection``, the MLP
``mlp.layers.0.0`` (fc1) and ``mlp.layers.1`` (fc2), and stores the fixed
position table as the buffer ``backbone.pos_embed``.
"""
from typing import Dict, Tuple

import torch

from .keymap import NORM_PARTS, check_fixed_pos_embed, rename_keys
from .report import ConversionReport, fail_on_leftovers

_SAME = (r'((?:norm1|norm2|attn\.proj)\.(?:weight|bias)'
         r'|attn\.qkv\.weight|attn\.q_bias|attn\.v_bias|gamma_1|gamma_2)')

RULES = [
    (r'backbone\.patch_embed\.projection\.(weight|bias)',
     r'backbone.patch_embed.proj.\1', ''),
    (rf'backbone\.blocks\.(\d+)\.{_SAME}', r'backbone.blocks.\1.\2', ''),
    (r'backbone\.blocks\.(\d+)\.mlp\.layers\.0\.0\.(weight|bias)',
     r'backbone.blocks.\1.mlp.fc1.\2', ''),
    (r'backbone\.blocks\.(\d+)\.mlp\.layers\.1\.(weight|bias)',
     r'backbone.blocks.\1.mlp.fc2.\2', ''),
    (rf'backbone\.norm\.{NORM_PARTS}', r'backbone.norm.\1', ''),
    (rf'backbone\.fc_norm\.{NORM_PARTS}', r'backbone.fc_norm.\1', ''),
    (r'cls_head\.fc_cls\.(weight|bias)', r'cls_head.fc_cls.\1', ''),
]


def mmaction2_to_mmvmae(state: Dict[str, torch.Tensor],
                        report: ConversionReport) -> Tuple[Dict, Dict]:
    """mmaction2 layout -> ``(mmvmae state dict, settings)``.

    mmaction2's ``VisionTransformer`` uses LayerNorm eps 1e-6 by default
    (the settings here); a training config in ``meta.cfg`` may state
    another (read by the converter).
    """
    state = dict(state)
    if 'backbone.pos_embed' in state:
        check_fixed_pos_embed('backbone.pos_embed',
                              state.pop('backbone.pos_embed'), report)
    renamed, leftover = rename_keys(state, RULES, report)
    fail_on_leftovers(
        leftover, 'mmaction2',
        'Supported: recognizers with the vit_mae VisionTransformer backbone '
        'and a cls_head.fc_cls head')
    settings = dict(norm_eps=1e-6, fc_norm_eps=1e-6)
    return renamed, settings
