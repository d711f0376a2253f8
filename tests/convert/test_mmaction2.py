"""mmaction2 ``vit_mae.VisionTransformer`` -> mmvmae: the same features.

mmaction2's ``vit_mae`` takes ``DropPath`` from ``mmcv.cnn.bricks`` (not
timm) in 1.2.0, so it imports here once ``mmvmae`` has applied its fixes.
"""
import pytest
import torch
from convert_helpers import randomize_

import mmvmae  # noqa: F401  (before mmaction.models: see STACK.md)
from mmvmae.convert import ConversionError, build_model, convert_to_mmvmae

TINY = dict(img_size=32, patch_size=16, embed_dims=32, depth=2, num_heads=2,
            num_frames=4, tubelet_size=2)


def mmaction_vit(**kwargs):
    from mmaction.models.backbones.vit_mae import VisionTransformer
    return randomize_(VisionTransformer(**dict(TINY, **kwargs))).eval()


def save_recognizer(backbone, path, num_classes: int = 5,
                    embed_dims: int = TINY['embed_dims'], cfg=None):
    """An mmengine-style checkpoint of a Recognizer3D with a cls_head (and
    the config text ``cfg`` as ``meta['cfg']``)."""
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    head = randomize_(torch.nn.Linear(embed_dims, num_classes), 1)
    state.update({f'cls_head.fc_cls.{k}': v
                  for k, v in head.state_dict().items()})
    meta = dict(epoch=3) if cfg is None else dict(epoch=3, cfg=cfg)
    torch.save(dict(meta=meta, state_dict=state), path)
    return head



def _assert_same_features(arch, state_dict, ref):
    """The converted model's backbone gives mmaction2's features."""
    model = build_model(arch)
    model.load_state_dict(state_dict, strict=True)
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone(x), ref(x), atol=1e-5,
                                   rtol=0)

def test_mean_pooled_features_and_logits_match(tmp_path):
    ref = mmaction_vit(use_mean_pooling=True)
    head = save_recognizer(ref, tmp_path / 'mma.pth')
    ckpt, report = convert_to_mmvmae(str(tmp_path / 'mma.pth'),
                                     src_format='mmaction2', num_heads=2,
                                     img_size=32, num_frames=4)
    dropped = dict(report.dropped)
    assert 'verified' in dropped['backbone.pos_embed']
    model = build_model(ckpt['meta']['arch'])
    model.load_state_dict(ckpt['state_dict'], strict=True)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        expected = ref(x)
        features = model.backbone(x)
        torch.testing.assert_close(features, expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(model.cls_head(features), head(expected),
                                   atol=1e-5, rtol=0)


def test_layer_norm_eps_are_mmaction2s(tmp_path):
    """Every LayerNorm of the converted model has the eps of its
    counterpart in mmaction2's module (outputs barely show it)."""
    ref = mmaction_vit(use_mean_pooling=True)
    save_recognizer(ref, tmp_path / 'mma.pth')
    ckpt, _ = convert_to_mmvmae(str(tmp_path / 'mma.pth'), num_heads=2,
                                img_size=32, num_frames=4)
    model = build_model(ckpt['meta']['arch'])
    theirs = {m.eps for m in ref.modules()
              if isinstance(m, torch.nn.LayerNorm)}
    ours = [m.eps for m in model.modules()
            if isinstance(m, torch.nn.LayerNorm)]
    assert len(theirs) == 1 and set(ours) == theirs
    assert model.backbone.fc_norm.eps == ref.fc_norm.eps


def test_token_features_match_without_mean_pooling(tmp_path):
    ref = mmaction_vit(use_mean_pooling=False, return_feat_map=True)
    save_recognizer(ref, tmp_path / 'mma.pth')
    ckpt, _ = convert_to_mmvmae(str(tmp_path / 'mma.pth'), num_heads=2,
                                img_size=32, num_frames=4)
    _assert_same_features(dict(ckpt['meta']['arch'], out_type='featmap'),
                          ckpt['state_dict'], ref)


def test_learned_position_table_is_refused(tmp_path):
    ref = mmaction_vit()
    with torch.no_grad():
        ref.pos_embed.add_(0.01)
    save_recognizer(ref, tmp_path / 'mma.pth')
    with pytest.raises(ConversionError, match='not the fixed sinusoid'):
        convert_to_mmvmae(str(tmp_path / 'mma.pth'), num_heads=2)


def test_unknown_key_is_refused(tmp_path):
    ref = mmaction_vit()
    save_recognizer(ref, tmp_path / 'mma.pth')
    ckpt = torch.load(tmp_path / 'mma.pth', weights_only=True)
    ckpt['state_dict']['roi_head.bbox_head.fc_cls.weight'] = torch.ones(3, 3)
    torch.save(ckpt, tmp_path / 'mma.pth')
    with pytest.raises(ConversionError, match='roi_head.bbox_head'):
        convert_to_mmvmae(str(tmp_path / 'mma.pth'), num_heads=2)


def _mmaction2_cfg(**backbone) -> str:
    """``meta['cfg']`` as mmengine's Runner saves it: the config text."""
    from mmengine.config import Config
    return Config(dict(model=dict(
        type='Recognizer3D',
        backbone=dict(type='VisionTransformer', **backbone),
        cls_head=dict(type='TimeSformerHead', num_classes=5,
                      in_channels=backbone.get('embed_dims', 768))))
    ).pretty_text


def test_meta_cfg_gives_the_heads(tmp_path):
    """Width 384 (the releases' ViT-S has 6 heads) trained with 8: meta.cfg
    says so, and the features match mmaction2's."""
    kwargs = dict(embed_dims=384, depth=1, num_heads=8,
                  norm_cfg=dict(type='LN', eps=1e-5))
    ref = mmaction_vit(**kwargs)
    save_recognizer(ref, tmp_path / 'mma.pth', embed_dims=384,
                    cfg=_mmaction2_cfg(**dict(TINY, **kwargs)))
    ckpt, report = convert_to_mmvmae(str(tmp_path / 'mma.pth'))
    arch = ckpt['meta']['arch']
    assert (arch['num_heads'], arch['img_size'], arch['num_frames'],
            arch['norm_eps']) == (8, 32, 4, 1e-5)
    assert any('meta.cfg' in note and 'num_heads=8' in note
               for note in report.notes)
    _assert_same_features(arch, ckpt['state_dict'], ref)
    with pytest.raises(ConversionError, match=r'--num-heads 6 contradicts '
                       r"the model config in the checkpoint's meta.cfg"):
        convert_to_mmvmae(str(tmp_path / 'mma.pth'), num_heads=6)


def test_meta_cfg_defaults_and_disagreement(tmp_path):
    """A key the config omits is VisionTransformer's default (12 heads),
    as mmaction2 built it; a config that disagrees with the weights is an
    error."""
    ref = mmaction_vit(embed_dims=384, depth=1, num_heads=12)
    save_recognizer(ref, tmp_path / 'mma.pth', embed_dims=384,
                    cfg=_mmaction2_cfg(embed_dims=384, depth=1))
    ckpt, _ = convert_to_mmvmae(str(tmp_path / 'mma.pth'), img_size=32,
                                num_frames=4)
    assert ckpt['meta']['arch']['num_heads'] == 12
    save_recognizer(ref, tmp_path / 'bad.pth', embed_dims=384,
                    cfg=_mmaction2_cfg(embed_dims=384, depth=2))
    with pytest.raises(ConversionError, match=r"'depth': \(2, 1\)"):
        convert_to_mmvmae(str(tmp_path / 'bad.pth'))


def test_without_meta_cfg_the_release_heads_are_noted(tmp_path):
    ref = mmaction_vit(embed_dims=384, depth=1, num_heads=6)
    save_recognizer(ref, tmp_path / 'mma.pth', embed_dims=384)
    ckpt, report = convert_to_mmvmae(str(tmp_path / 'mma.pth'))
    assert ckpt['meta']['arch']['num_heads'] == 6
    assert any('states no head count: 6 attention heads assumed' in note
               for note in report.notes)
