"""Loading a pretraining checkpoint's encoder into the recognizer."""
import argparse
import re

import pytest
import torch

from mmvmae.models.utils import sinusoid_position_table
from mmvmae.models.utils.pretrained_loader import load_encoder_weights
from mmvmae.registry import MODELS

ARCH = dict(embed_dims=32, depth=2, num_heads=2, patch_size=8)


def backbone(**kwargs):
    cfg = dict(type='VideoMAEViT', arch=ARCH, img_size=32, num_frames=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def recognizer(checkpoint, **backbone_kwargs):
    cfg = dict(type='VideoMAEViT', arch=ARCH, img_size=32, num_frames=4,
               out_type='avg',
               init_cfg=dict(type='VideoMAEPretrained', checkpoint=checkpoint))
    cfg.update(backbone_kwargs)
    return MODELS.build(dict(
        type='Recognizer3D', backbone=cfg,
        cls_head=dict(type='VideoMAEClsHead', num_classes=3, in_channels=32),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               format_shape='NCTHW')))


def save_pretrain(path, encoder, layout='mmvmae'):
    """A pretraining checkpoint holding ``encoder`` plus decoder weights."""
    state = encoder.state_dict()
    if layout == 'mmvmae':  # mmengine checkpoint of the VideoMAE algorithm
        ckpt = {'meta': {'epoch': 1}, 'state_dict': {
            **{f'backbone.{k}': v for k, v in state.items()},
            'neck.mask_token': torch.zeros(1, 1, 16),
            'neck.head.weight': torch.zeros(8, 16)}}
    else:  # original release: `model`, `encoder.*`, a stored table
        ckpt = {'model': {
            **{f'encoder.{k}': v for k, v in state.items()},
            'encoder.pos_embed': sinusoid_position_table(32, 32),
            'encoder_to_decoder.weight': torch.zeros(16, 32),
            'decoder.blocks.0.norm1.weight': torch.ones(16)},
            # the releases pickle their training arguments
            'args': argparse.Namespace(model='pretrain_videomae_base',
                                       mask_ratio=0.9, batch_size=32)}
    torch.save(ckpt, path)
    return state


def assert_encoder_equal(model_backbone, state):
    loaded = model_backbone.state_dict()
    for key, value in state.items():
        if key.startswith('norm.'):  # 'tokens' mode only
            continue
        assert torch.equal(loaded[key], value), key


@pytest.mark.parametrize('layout', ['mmvmae', 'original'])
def test_init_cfg_loads_encoder_through_init_weights(tmp_path, layout):
    src = backbone()
    state = save_pretrain(tmp_path / 'ckpt.pth', src, layout)
    model = recognizer(str(tmp_path / 'ckpt.pth'))
    fresh_fc_norm = model.backbone.fc_norm.weight.clone()
    model.init_weights()
    # every encoder weight (patch embedding included: mmengine calls its own
    # init_weights after the initializer) comes from the checkpoint
    assert_encoder_equal(model.backbone, state)
    assert torch.equal(model.backbone.fc_norm.weight, fresh_fc_norm)


def test_work_dir_with_last_checkpoint(tmp_path):
    src = backbone()
    state = save_pretrain(tmp_path / 'epoch_3.pth', src)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    target = backbone(out_type='avg')
    report = load_encoder_weights(target, str(tmp_path))
    assert_encoder_equal(target, state)
    assert report['missing'] == ['fc_norm.weight', 'fc_norm.bias']
    assert report['unexpected'] == ['norm.weight', 'norm.bias']


def test_mmaction2_recognizer_checkpoint(tmp_path):
    """mmaction2's own VisionTransformer (``patch_embed.projection``,
    ``mlp.layers``) -> the same features here."""
    import mmvmae  # noqa: F401  (before mmaction.models: see STACK.md)
    from mmaction.models.backbones.vit_mae import VisionTransformer
    torch.manual_seed(0)
    ref = VisionTransformer(img_size=32, patch_size=8, embed_dims=32,
                            depth=2, num_heads=2, num_frames=4,
                            use_mean_pooling=True).eval()
    with torch.no_grad():
        for param in ref.parameters():
            param.add_(0.1 * torch.randn_like(param))
    state = {f'backbone.{k}': v for k, v in ref.state_dict().items()}
    state['cls_head.fc_cls.weight'] = torch.zeros(3, 32)
    torch.save({'meta': {}, 'state_dict': state}, tmp_path / 'mma.pth')
    model = recognizer(str(tmp_path / 'mma.pth')).eval()
    model.init_weights()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone(x), ref(x), atol=1e-5,
                                   rtol=0)


def test_copied_work_dir_uses_its_own_checkpoint(tmp_path):
    """``last_checkpoint`` names the path of the original run; a copy of the
    work dir loads the copy's file of that name."""
    from mmvmae.models.utils.pretrained_loader import resolve_checkpoint
    original, copy = tmp_path / 'run', tmp_path / 'copy'
    for folder in (original, copy):
        folder.mkdir()
        (folder / 'epoch_2.pth').write_bytes(b'')
        (folder / 'last_checkpoint').write_text(
            str(original / 'epoch_2.pth'))
    assert resolve_checkpoint(str(copy)) == str(copy / 'epoch_2.pth')
    (copy / 'epoch_2.pth').unlink()  # then the named file, if it exists
    assert resolve_checkpoint(str(copy)) == str(original / 'epoch_2.pth')


def test_module_prefix_is_stripped_only_from_a_wrapped_model():
    from mmvmae.models.utils.pretrained_loader import unwrap_state_dict
    t = torch.zeros(1)
    assert set(unwrap_state_dict({'module.a': t, 'module.b': t})) == {
        'a', 'b'}
    assert set(unwrap_state_dict({'module.a': t, 'b': t})) == {'module.a',
                                                               'b'}


def test_stored_position_table_is_dropped_with_a_note(tmp_path):
    save_pretrain(tmp_path / 'c.pth', backbone(), layout='original')
    report = load_encoder_weights(backbone(), str(tmp_path / 'c.pth'))
    assert any('pos_embed' in note for note in report['notes'])
    assert any('decoder' in note or 'encoder_to_decoder' in note
               for note in report['notes'])


def test_learned_position_table_is_refused(tmp_path):
    save_pretrain(tmp_path / 'c.pth', backbone(), layout='original')
    with torch.serialization.safe_globals([argparse.Namespace]):
        ckpt = torch.load(tmp_path / 'c.pth')
    ckpt['model']['encoder.pos_embed'] += 0.01  # no longer the fixed table
    torch.save(ckpt, tmp_path / 'c.pth')
    with pytest.raises(ValueError, match='not the fixed sinusoid table'):
        load_encoder_weights(backbone(), str(tmp_path / 'c.pth'))


def test_32_frames_from_16_frame_checkpoint(tmp_path):
    src = backbone(img_size=32, num_frames=16)
    state = save_pretrain(tmp_path / 'c.pth', src)
    model = recognizer(str(tmp_path / 'c.pth'), num_frames=32,
                       pos_embed_size=(16, 32))
    model.init_weights()
    assert_encoder_equal(model.backbone, state)
    x = torch.randn(1, 1, 3, 32, 32, 32)
    with torch.no_grad():
        scores = model.cls_head(model(x, mode='tensor'))
    assert scores.shape == (1, 3) and torch.isfinite(scores).all()
    # 16 temporal slots of 4x4 tokens: the 8-slot table interpolated in time
    table = model.backbone.position_table((16, 4, 4))
    assert table.shape == (1, 256, 32)


@pytest.mark.parametrize('kwargs, message', [
    (dict(arch=dict(ARCH, depth=3)), 'missing'),
    (dict(arch=dict(ARCH, depth=1)), 'lacks'),
    (dict(arch=dict(ARCH, embed_dims=64)), 'shape mismatch'),
    (dict(tubelet_size=4), 'shape mismatch'),
])
def test_mismatched_checkpoint_is_a_clear_error(tmp_path, kwargs, message):
    save_pretrain(tmp_path / 'c.pth', backbone())
    target = backbone(**kwargs)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(ValueError, match='does not fit') as info:
        load_encoder_weights(target, str(tmp_path / 'c.pth'))
    assert message in str(info.value)
    # nothing was loaded
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key])


def test_checkpoint_without_encoder_and_bad_paths(tmp_path):
    torch.save({'state_dict': {'head.weight': torch.zeros(2, 2)}},
               tmp_path / 'c.pth')
    with pytest.raises(ValueError, match='no VideoMAE encoder'):
        load_encoder_weights(backbone(), str(tmp_path / 'c.pth'))
    with pytest.raises(FileNotFoundError, match=re.escape('last_checkpoint')):
        load_encoder_weights(backbone(), str(tmp_path))
    with pytest.raises(FileNotFoundError, match='no file or work dir'):
        load_encoder_weights(backbone(), str(tmp_path / 'missing.pth'))


class _RunsCode:
    def __reduce__(self):
        return (print, ('this must never run',))


def test_checkpoint_with_code_is_refused(tmp_path, capsys):
    state = backbone().state_dict()
    torch.save({'state_dict': state, 'meta': _RunsCode()}, tmp_path / 'c.pth')
    with pytest.raises(ValueError, match='never loads checkpoints with '
                       'weights_only=False'):
        load_encoder_weights(backbone(), str(tmp_path / 'c.pth'))
    assert 'this must never run' not in capsys.readouterr().out
