"""The authors' VideoMAE (V1) and VideoMAE V2 checkpoints -> mmvmae.

Both releases share one key layout (see VIDEOMAE.md, "Checkpoint layouts"):
pretraining checkpoints hold ``encoder.*``, ``encoder_to_decoder``,
``mask_token`` and ``decoder.*``; fine-tuned (and V2 distilled) ones hold
``patch_embed.proj``, ``blocks.N.*``, ``fc_norm`` or ``norm``, ``head``.
"""
from typing import Dict, Tuple

import torch

from .keymap import BLOCK_PARTS, NORM_PARTS, check_fixed_pos_embed, rename_keys
from .report import ConversionReport, fail_on_leftovers

PRETRAIN_RULES = [
    (r'encoder\.patch_embed\.proj\.(weight|bias)',
     r'backbone.patch_embed.proj.\1', ''),
    (rf'encoder\.blocks\.(\d+)\.{BLOCK_PARTS}',
     r'backbone.blocks.\1.\2', ''),
    (rf'encoder\.norm\.{NORM_PARTS}', r'backbone.norm.\1', ''),
    (r'encoder_to_decoder\.weight', 'neck.encoder_to_decoder.weight', ''),
    (r'mask_token', 'neck.mask_token', ''),
    (rf'decoder\.blocks\.(\d+)\.{BLOCK_PARTS}',
     r'neck.blocks.\1.\2', ''),
    (rf'decoder\.norm\.{NORM_PARTS}', r'neck.norm.\1', ''),
    (r'decoder\.head\.(weight|bias)', r'neck.head.\1', ''),
]

FINETUNE_RULES = [
    (r'patch_embed\.proj\.(weight|bias)', r'backbone.patch_embed.proj.\1',
     ''),
    (rf'blocks\.(\d+)\.{BLOCK_PARTS}',
     r'backbone.blocks.\1.\2', ''),
    (rf'norm\.{NORM_PARTS}', r'backbone.norm.\1', ''),
    (rf'fc_norm\.{NORM_PARTS}', r'backbone.fc_norm.\1', ''),
    (r'head\.(weight|bias)', r'cls_head.fc_cls.\1', ''),
]

POS_EMBED_KEYS = ('pos_embed', 'encoder.pos_embed', 'decoder.pos_embed')


def is_pretrain_layout(state: Dict[str, torch.Tensor]) -> bool:
    return any(k.startswith('encoder.') for k in state)


def original_to_mmvmae(state: Dict[str, torch.Tensor],
                       report: ConversionReport) -> Tuple[Dict, Dict]:
    """Original layout -> ``(mmvmae state dict, settings)``.

    The setting the weights cannot show: LayerNorm eps 1e-6 everywhere.
    """
    state = dict(state)
    for key in POS_EMBED_KEYS:
        if key in state:
            check_fixed_pos_embed(key, state.pop(key), report)
    pretrain = is_pretrain_layout(state)
    rules = PRETRAIN_RULES if pretrain else FINETUNE_RULES
    renamed, leftover = rename_keys(state, rules, report)
    fail_on_leftovers(
        leftover, 'VideoMAE ' + ('pretraining' if pretrain else 'fine-tuned'),
        'Supported: the layouts of the VideoMAE / VideoMAE V2 releases')
    settings = dict(norm_eps=1e-6, fc_norm_eps=1e-6, decoder_norm_eps=1e-6,
                    decoder_final_norm_eps=1e-6)
    return renamed, settings


def describe_original(arch: Dict) -> str:
    """Name the release family from the architecture (V2 giant: patch 14)."""
    if arch['patch_size'] == 14 or arch['embed_dims'] == 1408:
        family = 'VideoMAE V2 (giant)'
    else:
        family = 'VideoMAE / VideoMAE V2'
    kind = 'pretraining' if arch['decoder'] else 'fine-tuned'
    return f'{family} {kind} checkpoint (original key layout)'
