"""mmvmae -> a Hugging Face ``VideoMAE*`` directory (config.json + weights).

The result loads with ``VideoMAEForVideoClassification.from_pretrained``
(a recognizer), ``VideoMAEForPreTraining.from_pretrained`` (a pretraining
model) or ``VideoMAEModel.from_pretrained`` (a bare backbone with its
final norm; HF has no place for a bare backbone's ``fc_norm``) with no
missing or unexpected keys.
"""
from typing import Dict

import torch

from .huggingface import LAYER_PARTS, TOP_LEVEL, TORCH_DEFAULT_EPS
from .keymap import split_qkv
from .output import save_hf
from .report import ConversionError, ConversionReport, fail_on_leftovers

_FROM_MMVMAE_TOP = {v: k for k, v in TOP_LEVEL.items()}
_FROM_MMVMAE_LAYER = {v: k for k, v in LAYER_PARTS.items()}


def hf_config(arch: Dict, report: ConversionReport) -> Dict:
    """``config.json`` content for ``arch``."""
    if arch['layer_scale']:
        raise ConversionError('the model has layer scale (gamma_1/gamma_2), '
                              'which HF VideoMAE cannot hold')
    dec = arch.get('decoder')
    if dec is not None and arch['out_type'] != 'tokens':
        raise ConversionError('a pretraining model needs the final encoder '
                              "norm (out_type 'tokens')")
    if dec is not None:
        kind = 'VideoMAEForPreTraining'
    elif arch.get('num_classes'):
        kind = 'VideoMAEForVideoClassification'
    elif arch['out_type'] == 'avg':
        raise ConversionError(
            "a backbone with mean pooling (out_type 'avg') has fc_norm, which "
            'HF VideoMAEModel cannot hold (HF keeps fc_norm in '
            'VideoMAEForVideoClassification, with a classifier); export the '
            'recognizer with its cls_head instead')
    else:
        kind = 'VideoMAEModel'
    config = dict(
        model_type='videomae', architectures=[kind],
        image_size=arch['img_size'], patch_size=arch['patch_size'],
        num_channels=arch['in_channels'], num_frames=arch['num_frames'],
        tubelet_size=arch['tubelet_size'], hidden_size=arch['embed_dims'],
        num_hidden_layers=arch['depth'],
        num_attention_heads=arch['num_heads'],
        intermediate_size=arch['mlp_hidden'], hidden_act='gelu',
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        initializer_range=0.02, layer_norm_eps=arch['norm_eps'],
        qv_bias=arch['qkv_bias'],
        use_mean_pooling=arch['out_type'] == 'avg',
        norm_pix_loss=arch.get('norm_pix_loss', True))
    if dec is not None:
        config.update(decoder_hidden_size=dec['embed_dims'],
                      decoder_num_hidden_layers=dec['depth'],
                      decoder_num_attention_heads=dec['num_heads'],
                      decoder_intermediate_size=dec['mlp_hidden'])
        if arch['decoder_norm_eps'] != arch['norm_eps']:
            report.note(f"HF has one layer_norm_eps: decoder blocks get "
                        f"{arch['norm_eps']} instead of "
                        f"{arch['decoder_norm_eps']}")
        _note_fixed_eps('the decoder norm', arch['decoder_final_norm_eps'],
                        report)
    if arch.get('num_classes'):
        labels = arch.get('id2label') or {
            str(i): f'LABEL_{i}' for i in range(arch['num_classes'])}
        config['id2label'] = {str(k): v for k, v in labels.items()}
        config['label2id'] = {v: int(k) for k, v in labels.items()}
        if arch['out_type'] == 'avg':
            _note_fixed_eps('fc_norm', arch['fc_norm_eps'], report)
        else:
            report.note('use_mean_pooling=False: HF classifies the first '
                        'token after the final norm')
    return config


def _note_fixed_eps(what: str, eps: float, report: ConversionReport) -> None:
    if eps != TORCH_DEFAULT_EPS:
        report.note(f'HF builds {what} with eps {TORCH_DEFAULT_EPS} (not '
                    f'configurable); the model used {eps}: outputs differ '
                    'very slightly')


def mmvmae_to_hf_state(state: Dict[str, torch.Tensor],
                       report: ConversionReport) -> Dict[str, torch.Tensor]:
    """Rename an mmvmae state dict to HF keys (``q_bias``/``v_bias``)."""
    state = dict(state)
    out = {}
    for key in list(state):
        parts = key.split('.')
        if parts[0] in ('backbone', 'neck') and len(parts) > 3 and \
                parts[1] == 'blocks':
            where = 'videomae.encoder.layer' if parts[0] == 'backbone' \
                else 'decoder.decoder_layers'
            prefix, inner = f'{where}.{parts[2]}.', '.'.join(parts[3:])
            name, _, leaf = inner.rpartition('.')
            if inner == 'attn.qkv.weight':
                q, k, v = split_qkv(state.pop(key))
                for role, value in zip(('query', 'key', 'value'), (q, k, v)):
                    out[f'{prefix}attention.attention.{role}.weight'] = value
                report.map(key, prefix + 'attention.attention.'
                           '{query,key,value}.weight')
                continue
            if inner in ('attn.q_bias', 'attn.v_bias'):
                new = f'{prefix}attention.attention.{inner[5:]}'
            elif name in _FROM_MMVMAE_LAYER:
                new = f'{prefix}{_FROM_MMVMAE_LAYER[name]}.{leaf}'
            else:
                continue
        else:
            name, _, leaf = key.rpartition('.')
            if key == 'neck.mask_token':
                new = 'mask_token'
            elif name in _FROM_MMVMAE_TOP:
                new = f'{_FROM_MMVMAE_TOP[name]}.{leaf}'
            else:
                continue
        out[new] = state.pop(key).contiguous()
        report.map(key, new)
    fail_on_leftovers(state, 'mmvmae', 'HF VideoMAE has no place for them')
    return out


def export_hf(state: Dict[str, torch.Tensor], arch: Dict, out_dir: str,
              report: ConversionReport) -> Dict:
    """Export an mmvmae state dict with its ``arch``; returns the config.

    Written atomically (see :mod:`.output`); in an existing ``out_dir``,
    ``config.json`` and ``model.safetensors`` are replaced."""
    config = hf_config(arch, report)
    hf_state = mmvmae_to_hf_state(state, report)
    if config['architectures'] == ['VideoMAEModel']:
        # a bare VideoMAEModel's own keys, as its save_pretrained writes them
        hf_state = {k[len('videomae.'):] if k.startswith('videomae.')
                    else k: v for k, v in hf_state.items()}
    kept = save_hf(out_dir, hf_state, config)
    if kept:
        report.note(f'{out_dir} also holds {kept}, left as they were')
    return config
