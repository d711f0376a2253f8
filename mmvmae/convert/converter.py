"""Convert any supported checkpoint to mmvmae, and mmvmae to Hugging Face."""
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import torch

from .arch import DECODER_HEADS, ENCODER_HEADS, count_blocks, infer_arch
from .config_text import arch_from_cfg, mmaction2_arch_from_cfg
from .detect import detect_format, load_source
from .hf_export import export_hf
from .huggingface import hf_heads, hf_to_mmvmae
from .mmaction2 import mmaction2_to_mmvmae
from .model_config import check_placement, model_config
from .original import describe_original, original_to_mmvmae
from .output import check_destination, save_checkpoint
from .report import ConversionError, ConversionReport

SOURCE_FORMATS = ('auto', 'videomae', 'videomaev2', 'mmaction2', 'hf',
                  'mmvmae')
EPS_KEYS = ('norm_eps', 'fc_norm_eps', 'decoder_norm_eps',
            'decoder_final_norm_eps')
# settings an mmvmae checkpoint's meta carries over (the weights cannot)
_META_SETTINGS = EPS_KEYS + ('img_size', 'num_frames', 'norm_pix_loss',
                             'id2label')
_QV_BIAS = re.compile(r'.*(q_bias|v_bias|query\.bias|value\.bias)$')


def convert_to_mmvmae(src: str,
                      src_format: str = 'auto',
                      num_heads: Optional[int] = None,
                      decoder_num_heads: Optional[int] = None,
                      layer_norm_eps: Optional[float] = None,
                      img_size: Optional[int] = None,
                      num_frames: Optional[int] = None,
                      allow_zero_qv_bias: bool = False
                      ) -> Tuple[Dict, ConversionReport]:
    """Read ``src`` (file or HF directory) into an mmvmae checkpoint.

    Returns:
        ``({'state_dict': ..., 'meta': {'arch', 'model_config',
        'conversion'}}, report)`` (not ``meta['config']``: mmengine's resume
        runs that as Python, so mmvmae drops it with a warning). Raises
        :class:`ConversionError` on anything it cannot place, on lost or
        all-zero q/v biases, and on a format mismatch.
    """
    if src_format not in SOURCE_FORMATS:
        raise ConversionError(f'--from must be one of {SOURCE_FORMATS}, got '
                              f'{src_format!r}')
    state, hf_cfg, meta = load_source(src)
    detected = detect_format(state)
    wanted = 'videomae' if src_format == 'videomaev2' else src_format
    if wanted not in ('auto', detected):
        raise ConversionError(f'--from {src_format} given, but the keys of '
                              f'{src} are in the {detected} layout')
    report = ConversionReport()
    settings: Dict = {}
    # head counts the source states: (value, source, field) per part
    stated = dict(encoder=(None, '', ''), decoder=(None, '', ''))
    if detected == 'videomae':
        renamed, settings = original_to_mmvmae(state, report)
        settings.update(_release_settings(meta.get('release_args'), report))
        _note_release_heads(renamed, num_heads, decoder_num_heads, report)
    elif detected == 'mmaction2':
        renamed, settings = mmaction2_to_mmvmae(state, report)
        stated['encoder'] = _mmaction2_cfg(meta, renamed, settings, report)
        if stated['encoder'][0] is None:
            _note_release_heads(renamed, num_heads, None, report,
                                'the mmaction2 checkpoint states no head '
                                'count')
    elif detected == 'hf':
        renamed, settings = hf_to_mmvmae(state, report, hf_cfg)
        cfg_heads, cfg_dec_heads = hf_heads(hf_cfg)
        where = f'the config.json of {src}'
        stated = dict(encoder=(cfg_heads, where, 'num_attention_heads'),
                      decoder=(cfg_dec_heads, where,
                               'decoder_num_attention_heads'))
    else:
        renamed = dict(state)
        for key in list(renamed):
            report.map(key, key)
        old, where = _mmvmae_arch(meta, renamed, report)
        settings = {k: old[k] for k in _META_SETTINGS if k in old}
        stated = dict(encoder=(old.get('num_heads'), where, 'num_heads'),
                      decoder=((old.get('decoder') or {}).get('num_heads'),
                               where, 'decoder.num_heads'))
    num_heads = _agree(num_heads, '--num-heads', *stated['encoder'])
    if 'neck.encoder_to_decoder.weight' in renamed:
        decoder_num_heads = _agree(decoder_num_heads, '--decoder-num-heads',
                                   *stated['decoder'])
    arch = infer_arch(renamed, num_heads, decoder_num_heads)
    arch.update(_settings(arch, settings, layer_norm_eps, img_size,
                          num_frames, report))
    _check_hf_config(hf_cfg if detected == 'hf' else None, arch)
    check_qv_biases(state, renamed, arch, allow_zero_qv_bias)
    check_placement(renamed, arch)
    report.source_format = _describe(detected, arch)
    meta_out = dict(arch=arch, model_config=model_config(arch),
                    conversion=dict(report.to_meta(), source=str(src)))
    return dict(state_dict=renamed, meta=meta_out), report


# the original training scripts' arguments and the settings they fix
_RELEASE_ARGS = dict(input_size=('img_size', int),
                     num_frames=('num_frames', int),
                     normlize_target=('norm_pix_loss', bool))


def _release_settings(args: Optional[Dict],
                      report: ConversionReport) -> Dict:
    """Input size, frames and pixel target an original release records in
    its pickled training ``args`` (the options given on the command line
    still win)."""
    args = args or {}
    found = {ours: args[theirs]
             for theirs, (ours, kind) in _RELEASE_ARGS.items()
             if type(args.get(theirs)) is kind}
    if found:
        report.note('from the training args in the checkpoint: ' + ', '.join(
            f'{k}={v}' for k, v in found.items()))
    return found


def _note_release_heads(state: Dict[str, torch.Tensor],
                        num_heads: Optional[int],
                        decoder_num_heads: Optional[int],
                        report: ConversionReport,
                        source: str = '') -> None:
    """Original-layout files (and mmaction2 ones without ``meta.cfg``)
    state no head count: the releases' count for the width is the default
    (noted for mmaction2, which builds any count); a different
    ``--num-heads`` (a model trained with other heads) wins, with a note."""
    for key, given, table, what in (
            ('backbone.patch_embed.proj.weight', num_heads, ENCODER_HEADS,
             '--num-heads'),
            ('neck.encoder_to_decoder.weight', decoder_num_heads,
             DECODER_HEADS, '--decoder-num-heads')):
        weight = state.get(key)
        width = weight.shape[0] if weight is not None and weight.dim() else 0
        usual = table.get(width)
        if given is not None and usual is not None and given != usual:
            report.note(f'{what} {given}: the VideoMAE / V2 releases of '
                        f'width {width} use {usual} (the file states none)')
        elif given is None and usual is not None and source:
            report.note(f'{source}: {usual} attention heads assumed (the '
                        f'VideoMAE releases of width {width}); pass {what} '
                        'if the model was built with another count')


def _mmaction2_cfg(meta: Dict, state: Dict[str, torch.Tensor],
                   settings: Dict, report: ConversionReport) -> Tuple:
    """What an mmaction2 training config (``meta.cfg``, parsed, never
    executed) states: its input size and LayerNorm eps go into
    ``settings``; returns ``(num_heads, where, field)`` as ``stated``."""
    cfg = meta.get('cfg') if isinstance(meta, dict) else None
    arch = (mmaction2_arch_from_cfg(cfg) if cfg is not None else None) or {}
    if cfg is None:
        report.note('no meta.cfg in the mmaction2 checkpoint')
    elif not arch:
        report.note('meta.cfg has no vit_mae VisionTransformer backbone: '
                    'not used')
    if 'norm_eps' not in arch:
        report.note('LayerNorm eps 1e-6 assumed (the VisionTransformer '
                    'default); pass --layer-norm-eps if the model was built '
                    'otherwise')
    if not arch:
        return None, '', ''
    where = "the model config in the checkpoint's meta.cfg"
    proj = state.get('backbone.patch_embed.proj.weight')
    if proj is not None and proj.dim() == 5:
        refuse_disagreement(arch, {
            'embed_dims': proj.shape[0], 'tubelet_size': proj.shape[2],
            'patch_size': proj.shape[3],
            'depth': count_blocks(state, 'backbone.')}, where)
    settings.update({k: arch[k] for k in ('img_size', 'num_frames',
                                          'norm_eps', 'fc_norm_eps')
                     if k in arch})
    stated = ', '.join(f'{k}={v}' for k, v in arch.items()
                       if k != 'fc_norm_eps')
    report.note(f'from the model config in meta.cfg (parsed, not executed; '
                f'VisionTransformer defaults where it is silent): {stated}')
    return arch.get('num_heads'), where, 'num_heads'


def _mmvmae_arch(meta: Dict, state: Dict[str, torch.Tensor],
                 report: ConversionReport) -> Tuple[Dict, str]:
    """``(arch, where from)``: ``meta.arch`` of a converted checkpoint, else
    what the training config text ``meta.cfg`` states (parsed, never
    executed)."""
    meta = meta if isinstance(meta, dict) else {}
    if isinstance(meta.get('arch'), dict) and meta['arch']:
        return meta['arch'], "the checkpoint's meta.arch"
    arch = arch_from_cfg(meta['cfg']) if 'cfg' in meta else None
    if not arch:
        report.note('no meta.arch in the checkpoint' + (
            ' and no VideoMAEViT model with literal values in its meta.cfg'
            if 'cfg' in meta else '') + ': LayerNorm eps 1e-6 assumed')
        return {}, ''
    _check_cfg_arch(arch, state)
    report.note('no meta.arch in the checkpoint: heads, input size and '
                'LayerNorm eps read from the model config in meta.cfg '
                '(parsed, not executed)')
    return arch, "the model config in the checkpoint's meta.cfg"


def _check_cfg_arch(cfg_arch: Dict, state: Dict[str, torch.Tensor]) -> None:
    """The training config must describe these weights."""
    proj = state.get('backbone.patch_embed.proj.weight')
    dec = state.get('neck.encoder_to_decoder.weight')
    if proj is None or proj.dim() != 5:
        return  # infer_arch says what is wrong
    weights = {'embed_dims': proj.shape[0],
               'depth': count_blocks(state, 'backbone.')}
    if dec is not None and cfg_arch.get('decoder'):
        weights.update({'decoder.embed_dims': dec.shape[0],
                        'decoder.depth': count_blocks(state, 'neck.')})
    cfg = dict(cfg_arch, **{f'decoder.{k}': v for k, v in
                            (cfg_arch.get('decoder') or {}).items()})
    refuse_disagreement(cfg, weights,
                        "the model config in the checkpoint's meta.cfg")


def refuse_disagreement(stated: Dict, weights: Dict, what: str,
                        hints: Optional[Dict[str, str]] = None) -> None:
    """``ConversionError`` if a config (``what``) states a value other than
    the weights show, for any key of ``weights``; ``hints`` explains some
    keys' disagreement."""
    wrong = {k: (stated[k], v) for k, v in weights.items()
             if k in stated and stated[k] != v}
    if wrong:
        hint = ''.join(f'; {hints[k]}' for k in wrong if k in (hints or {}))
        raise ConversionError(f'{what} disagrees with the weights (config, '
                              f'weights): {wrong}{hint}')


def _agree(given: Optional[int], option: str, known: Optional[int],
           source: str, field: str) -> Optional[int]:
    """The head count the source states; ``given`` must not contradict it."""
    if known is None:
        return given
    if given is not None and given != known:
        raise ConversionError(
            f'{option} {given} contradicts {source} ({field}={known}); omit '
            f'{option} or pass {known}')
    return known


def _settings(arch: Dict, settings: Dict, layer_norm_eps: Optional[float],
              img_size: Optional[int], num_frames: Optional[int],
              report: ConversionReport) -> Dict:
    out = dict(settings)
    for key in EPS_KEYS:
        out.setdefault(key, out.get('norm_eps', 1e-6))
    if layer_norm_eps is not None:
        out.update({k: layer_norm_eps for k in EPS_KEYS})
        report.note(f'LayerNorm eps set to {layer_norm_eps} '
                    '(--layer-norm-eps)')
    out.setdefault('norm_pix_loss', True)
    for key, given, default in (('img_size', img_size, 224),
                                ('num_frames', num_frames, 16)):
        if given is not None:
            out[key] = given
        elif key not in out:
            out[key] = default
            report.note(f'{key} not recorded in the source: assuming '
                        f'{default} (pass --{key.replace("_", "-")})')
    if arch['decoder'] is None:
        for key in ('decoder_norm_eps', 'decoder_final_norm_eps',
                    'norm_pix_loss'):
            out.pop(key)
    if arch['out_type'] != 'avg':
        out.pop('fc_norm_eps')
    if arch['num_classes'] and arch['out_type'] == 'tokens':
        report.note('the source classifies the first token after the final '
                    "norm (no mean pooling); VideoMAEClsHead needs out_type "
                    "'avg', so use this model for token features or add a "
                    'first-token pooling head')
    return out


def _check_hf_config(hf_cfg: Optional[Dict], arch: Dict) -> None:
    if not hf_cfg:
        return
    checks = dict(hidden_size=arch['embed_dims'],
                  num_hidden_layers=arch['depth'],
                  patch_size=arch['patch_size'],
                  tubelet_size=arch['tubelet_size'],
                  qv_bias=arch['qkv_bias'],
                  # HF builds the encoder's final norm only without it
                  use_mean_pooling=arch['out_type'] == 'avg')
    refuse_disagreement(hf_cfg, checks, 'config.json', dict(
        qv_bias='for qv_bias this means the q/v biases are missing'))


def check_qv_biases(src: Dict[str, torch.Tensor], out: Dict[str, torch.Tensor],
                    arch: Dict, allow_zero: bool = False) -> None:
    """No q/v bias is lost, and none is silently all-zero.

    A source bias with no counterpart in the output, or an output all zero
    where the source was not, is an error. All-zero biases in a model that
    has them are an error too unless ``allow_zero``: a trained VideoMAE never
    has exactly zero biases, but a checkpoint that went through a converter
    that dropped them (e.g. the 4.x/5.x HF layouts mixed up) has.
    """
    src_biases = [v for k, v in src.items() if _QV_BIAS.match(k)]
    out_biases = [v for k, v in out.items()
                  if k.endswith(('attn.q_bias', 'attn.v_bias'))]
    if len(src_biases) != len(out_biases):
        raise ConversionError(
            f'{len(src_biases)} q/v bias tensors in the source but '
            f'{len(out_biases)} in the result: biases would be lost')
    src_sum = sum(float(v.abs().sum()) for v in src_biases)
    out_sum = sum(float(v.abs().sum()) for v in out_biases)
    if src_sum > 0 and out_sum == 0:
        raise ConversionError('the source has non-zero q/v biases but the '
                              'result has only zeros')
    if out_biases and out_sum == 0 and not allow_zero:
        raise ConversionError(
            'every q/v bias of the checkpoint is exactly zero: a trained '
            'VideoMAE never has that, so they were probably lost by an '
            'earlier conversion (e.g. transformers 5.x query.bias/value.bias '
            'loaded as 4.x q_bias/v_bias). Pass --allow-zero-qv-bias if '
            'intended')


def _describe(detected: str, arch: Dict) -> str:
    if detected == 'videomae':
        return describe_original(arch)
    kind = ('pretraining' if arch['decoder'] else
            'classification' if arch['num_classes'] else 'backbone')
    names = dict(mmaction2='mmaction2 vit_mae recognizer',
                 hf='Hugging Face VideoMAE', mmvmae='mmvmae')
    return f'{names[detected]} ({kind})'


def convert_checkpoint(src: str, dst: str, src_format: str = 'auto',
                       dst_format: str = 'mmvmae', overwrite: bool = False,
                       **options) -> Tuple[Dict, List[ConversionReport]]:
    """Convert ``src`` and write ``dst`` (a ``.pth`` file or an HF dir).

    ``dst`` is checked first (see :func:`.output.check_destination`): never
    the source, an existing one only with ``overwrite``. Written atomically.
    Returns the mmvmae checkpoint and the reports (import, then export for
    ``dst_format='hf'``). Options: see :func:`convert_to_mmvmae`.
    """
    if dst_format not in ('mmvmae', 'hf'):
        raise ConversionError(f"--to must be 'mmvmae' or 'hf', got "
                              f'{dst_format!r}')
    if not osp.exists(src):
        raise ConversionError(f'source not found: {src}')
    check_destination(src, dst, dst_format, overwrite)
    ckpt, report = convert_to_mmvmae(src, src_format, **options)
    reports = [report]
    try:
        if dst_format == 'hf':
            export = ConversionReport(source_format='mmvmae -> Hugging Face')
            export_hf(ckpt['state_dict'], ckpt['meta']['arch'], dst, export)
            reports.append(export)
        else:
            save_checkpoint(ckpt, dst)
    except OSError as err:
        raise ConversionError(f'cannot write {dst}: {err}') from err
    return ckpt, reports
