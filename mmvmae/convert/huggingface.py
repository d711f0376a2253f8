"""Hugging Face ``VideoMAE*`` checkpoints <-> mmvmae.

Import reads both q/v bias layouts: ``attention.attention.q_bias`` /
``v_bias`` (transformers 4.x, and the files ``save_pretrained`` writes) and
``attention.attention.query.bias`` / ``value.bias`` (transformers 5.x
in memory, hence a plain ``torch.save(model.state_dict())``). Export writes
the ``q_bias`` / ``v_bias`` layout, which both 4.x and 5.x load.

HF LayerNorm eps: the encoder blocks, the final encoder norm and the decoder
blocks use ``config.layer_norm_eps`` (default 1e-12); ``fc_norm`` and the
decoder's final ``norm`` use PyTorch's default 1e-5.
"""
import re
from typing import Dict, Optional, Tuple

import torch

from .keymap import check_fixed_pos_embed, merge_qkv, split_qkv
from .report import ConversionError, ConversionReport, fail_on_leftovers

HF_DEFAULT_EPS = 1e-12
TORCH_DEFAULT_EPS = 1e-5

# HF layer part -> mmvmae block part (besides q/k/v, handled apart)
LAYER_PARTS = {
    'attention.output.dense': 'attn.proj',
    'intermediate.dense': 'mlp.fc1',
    'output.dense': 'mlp.fc2',
    'layernorm_before': 'norm1',
    'layernorm_after': 'norm2',
}
TOP_LEVEL = {
    'videomae.embeddings.patch_embeddings.projection':
    'backbone.patch_embed.proj',
    'videomae.layernorm': 'backbone.norm',
    'fc_norm': 'backbone.fc_norm',
    'classifier': 'cls_head.fc_cls',
    'encoder_to_decoder': 'neck.encoder_to_decoder',
    'decoder.norm': 'neck.norm',
    'decoder.head': 'neck.head',
}
_LAYER = re.compile(r'(videomae\.encoder\.layer|decoder\.decoder_layers)'
                    r'\.(\d+)\.(.+)')
_ATTN = 'attention.attention.'
_POS_KEYS = ('videomae.embeddings.position_embeddings',
             'position_embeddings')


def hf_to_mmvmae(state: Dict[str, torch.Tensor], report: ConversionReport,
                 config: Optional[Dict] = None) -> Tuple[Dict, Dict]:
    """HF state dict (+ ``config.json`` dict if known) -> mmvmae layout.

    Returns ``(state_dict, settings)``; settings hold the LayerNorm eps of
    each norm and the HF config values the weights cannot show.
    """
    if not any(k.startswith('videomae.') for k in state):
        # a bare VideoMAEModel has no 'videomae.' prefix
        state = {('videomae.' + k if k.startswith(('embeddings.', 'encoder.',
                                                   'layernorm.')) else k): v
                 for k, v in state.items()}
    state = dict(state)
    for key in _POS_KEYS:
        if key in state:
            check_fixed_pos_embed(key, state.pop(key), report)
    out, qkv = {}, {}
    for key in list(state):
        match = _LAYER.fullmatch(key)
        if match is None:
            continue
        where, idx, part = match.groups()
        prefix = ('backbone' if where.startswith('videomae') else 'neck') + \
            f'.blocks.{idx}.'
        if part.startswith(_ATTN):
            qkv.setdefault(prefix, {})[part[len(_ATTN):]] = (key,
                                                              state.pop(key))
            continue
        name, _, leaf = part.rpartition('.')
        if name in LAYER_PARTS:
            out[prefix + LAYER_PARTS[name] + '.' + leaf] = state.pop(key)
            report.map(key, prefix + LAYER_PARTS[name] + '.' + leaf)
    for prefix, parts in qkv.items():
        _place_attention(prefix, parts, out, report)
    for key in list(state):
        name, _, leaf = key.rpartition('.')
        if name in TOP_LEVEL and leaf in ('weight', 'bias'):
            out[f'{TOP_LEVEL[name]}.{leaf}'] = state.pop(key)
            report.map(key, f'{TOP_LEVEL[name]}.{leaf}')
        elif key == 'mask_token':
            out['neck.mask_token'] = state.pop(key)
            report.map(key, 'neck.mask_token')
    fail_on_leftovers(state, 'Hugging Face VideoMAE',
                      'Supported: VideoMAEModel, VideoMAEForPreTraining, '
                      'VideoMAEForVideoClassification')
    return out, _settings(config, report)


def _place_attention(prefix: str, parts: Dict, out: Dict,
                     report: ConversionReport) -> None:
    """Merge query/key/value into ``qkv`` and place the q/v biases."""
    names = dict(parts)
    for role in ('query', 'key', 'value'):
        if f'{role}.weight' not in names:
            raise ConversionError(f'{prefix}: the attention has no '
                                  f'{role}.weight')
    src = names['query.weight'][0].replace('query.', '{query,key,value}.')
    out[prefix + 'attn.qkv.weight'] = merge_qkv(
        [names.pop(f'{r}.weight')[1] for r in ('query', 'key', 'value')])
    report.map(src, prefix + 'attn.qkv.weight')
    for short, role in (('q_bias', 'query'), ('v_bias', 'value')):
        old, new = names.pop(short, None), names.pop(f'{role}.bias', None)
        if old is not None and new is not None:
            raise ConversionError(
                f'both {old[0]} and {new[0]} are present: the checkpoint '
                'mixes the transformers 4.x and 5.x bias layouts')
        found = old or new
        if found is not None:
            out[prefix + 'attn.' + short] = found[1]
            report.map(found[0], prefix + 'attn.' + short)
    key_bias = names.pop('key.bias', None)
    if key_bias is not None:
        if key_bias[1].abs().max() > 0:
            raise ConversionError(f'{key_bias[0]} is non-zero: VideoMAE keys '
                                  'have no bias, so it has no place')
        report.drop(key_bias[0], 'all-zero key bias (VideoMAE keys have none)')
    if names:
        fail_on_leftovers({k: v for k, v in names.values()},
                          'Hugging Face VideoMAE')


def _settings(config: Optional[Dict], report: ConversionReport) -> Dict:
    if config is None:
        report.note('no config.json: assuming the HF defaults '
                    f'(layer_norm_eps {HF_DEFAULT_EPS}); pass '
                    '--layer-norm-eps if the model used another value')
        config = {}
    act = config.get('hidden_act', 'gelu')
    if act != 'gelu':
        raise ConversionError(f'hidden_act={act!r}: mmvmae blocks use GELU')
    eps = config.get('layer_norm_eps', HF_DEFAULT_EPS)
    report.note(f'LayerNorm eps carried from HF: {eps} for encoder and '
                f'decoder blocks, {TORCH_DEFAULT_EPS} for fc_norm and the '
                'decoder norm (HF builds those with the PyTorch default)')
    settings = dict(norm_eps=eps, fc_norm_eps=TORCH_DEFAULT_EPS,
                    decoder_norm_eps=eps,
                    decoder_final_norm_eps=TORCH_DEFAULT_EPS,
                    norm_pix_loss=config.get('norm_pix_loss', True))
    for src, dst in (('num_frames', 'num_frames'), ('image_size', 'img_size'),
                     ('id2label', 'id2label')):
        if src in config:
            settings[dst] = config[src]
    return settings


def hf_heads(config: Optional[Dict]) -> Tuple[Optional[int], Optional[int]]:
    """Encoder and decoder head counts from ``config.json`` if known."""
    if not config:
        return None, None
    return (config.get('num_attention_heads'),
            config.get('decoder_num_attention_heads'))
