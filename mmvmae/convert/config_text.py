"""Read the model settings of an mmengine checkpoint's ``meta['cfg']``.

mmengine stores the training config as Python text. Executing it
(``Config.fromstring``) would run code from the checkpoint, so it is only
parsed: the ``model = dict(...)`` assignment is walked with :mod:`ast` and
only literal values (``ast.literal_eval``) are read; anything else counts as
unknown (never replaced by a default).
"""
import ast
import inspect
from typing import Dict, Optional

_SKIP = object()


def _literal(node: ast.AST):
    """``dict(k=...)`` calls and ``{...}`` displays as dicts (values not
    literal: ``_SKIP``), any other literal as itself; else ``_SKIP``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict':
        if node.args or any(kw.arg is None for kw in node.keywords):
            return _SKIP  # dict(other, ...) / dict(**other): keys unknown
        return {kw.arg: _literal(kw.value) for kw in node.keywords}
    if isinstance(node, ast.Dict):
        keys = [_literal(k) if k is not None else _SKIP for k in node.keys]
        if not all(isinstance(k, str) for k in keys):
            return _SKIP
        return {k: _literal(v) for k, v in zip(keys, node.values)}
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return _SKIP


def model_cfg_from_text(text: str) -> Optional[Dict]:
    """The last top-level ``model = ...`` of a config text as a dict of its
    literal values; None if there is none or the text is not Python."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    model = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and \
                node.targets[0].id == 'model':
            value = _literal(node.value)
            model = value if isinstance(value, dict) else None
    return model


def _is(cfg, name: str) -> bool:
    return isinstance(cfg, dict) and \
        str(cfg.get('type', '')).rpartition('.')[2] == name


def _with_defaults(cls, cfg: Dict) -> Dict:
    """``cfg`` with the constructor defaults of ``cls`` for absent keys."""
    params = inspect.signature(cls.__init__).parameters.values()
    defaults = {p.name: p.default for p in params
                if p.default is not inspect.Parameter.empty}
    return dict(defaults, **cfg)


def arch_from_cfg(cfg) -> Optional[Dict]:
    """``meta['cfg']`` (text, or a dict) -> the ``meta.arch`` entries it
    states: ``embed_dims, depth, num_heads, img_size, num_frames``, the
    LayerNorm eps, ``norm_pix_loss`` and ``decoder`` (``embed_dims, depth,
    num_heads``). None if it has no readable ``VideoMAEViT`` model."""
    from mmvmae.models.backbones.videomae_vit import (ARCH_SETTINGS,
                                                       VideoMAEViT)
    from mmvmae.models.heads.videomae_pretrain_head import \
        VideoMAEPretrainHead
    from mmvmae.models.necks.videomae_decoder import VideoMAEDecoder
    model = model_cfg_from_text(cfg) if isinstance(cfg, str) else \
        cfg.get('model') if isinstance(cfg, dict) else None
    if not isinstance(model, dict):
        return None
    backbone = model if _is(model, 'VideoMAEViT') else model.get('backbone')
    if not _is(backbone, 'VideoMAEViT'):
        return None
    backbone = _with_defaults(VideoMAEViT, backbone)
    size = backbone['arch']
    size = ARCH_SETTINGS.get(size) if isinstance(size, str) else size
    if not isinstance(size, dict):
        return None
    arch = {k: size[k] for k in ('embed_dims', 'depth', 'num_heads')
            if k in size}
    for key in ('img_size', 'num_frames'):
        if isinstance(backbone[key], int):
            arch[key] = backbone[key]
    arch['norm_eps'] = backbone['norm_eps']
    final = backbone['final_norm_eps']
    arch['fc_norm_eps'] = arch['norm_eps'] if final is None else final
    neck = model.get('neck')
    if _is(neck, 'VideoMAEDecoder'):
        neck = _with_defaults(VideoMAEDecoder, neck)
        arch['decoder'] = {k: neck[k] for k in ('embed_dims', 'depth',
                                                'num_heads')}
        arch['decoder_norm_eps'] = neck['norm_eps']
        final = neck['final_norm_eps']
        arch['decoder_final_norm_eps'] = neck['norm_eps'] if final is None \
            else final
    if _is(model.get('head'), 'VideoMAEPretrainHead'):
        arch['norm_pix_loss'] = _with_defaults(VideoMAEPretrainHead,
                                               model['head'])['norm_pix']
    if 'decoder' in arch:
        arch['decoder'] = _known(arch['decoder'])
    return _known(arch)


def _known(cfg: Dict) -> Dict:
    return {k: v for k, v in cfg.items() if v is not _SKIP}


def mmaction2_arch_from_cfg(cfg) -> Optional[Dict]:
    """An mmaction2 checkpoint's ``meta['cfg']`` -> what its ``vit_mae``
    ``VisionTransformer`` states (constructor defaults for absent keys):
    ``embed_dims, depth, num_heads, patch_size, tubelet_size, img_size,
    num_frames`` and the LayerNorm eps. None if it has no such backbone."""
    import mmvmae  # noqa: F401  (its fixes first: vit_mae needs them)
    from mmaction.models.backbones.vit_mae import VisionTransformer
    model = model_cfg_from_text(cfg) if isinstance(cfg, str) else \
        cfg.get('model') if isinstance(cfg, dict) else None
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not _is(backbone, 'VisionTransformer'):
        return None
    backbone = _with_defaults(VisionTransformer, backbone)
    arch = {k: backbone[k] for k in ('embed_dims', 'depth', 'num_heads',
                                     'patch_size', 'tubelet_size', 'img_size',
                                     'num_frames')}
    norm = backbone['norm_cfg']
    if isinstance(norm, dict) and norm.get('type') in ('LN', 'LayerNorm'):
        # build_norm_layer passes eps on; without it nn.LayerNorm's 1e-5
        eps = norm.get('eps', 1e-5)
        arch['norm_eps'] = arch['fc_norm_eps'] = eps
    return _known(arch)
