"""Head counts: a ``--num-heads`` / ``--decoder-num-heads`` that contradicts
the source (HF config.json, meta.arch, meta.cfg, the releases' widths) is an
error; the training config text ``meta.cfg`` is read without executing it."""
import pytest
import torch
from convert_helpers import randomize_, run_tool
from mmengine.config import Config
from test_hf_parity import tiny_hf
from test_original import original_finetune

from mmvmae.convert import (ConversionError, build_model, convert_checkpoint,
                            convert_to_mmvmae, model_config)
from mmvmae.convert.config_text import arch_from_cfg

ARCH = dict(embed_dims=32, depth=2, num_heads=4, mlp_ratio=4.,
            mlp_hidden=128, patch_size=16, tubelet_size=2, in_channels=3,
            qkv_bias=True, layer_scale=False, out_type='tokens',
            num_classes=None, norm_eps=1e-6, decoder_norm_eps=1e-6,
            img_size=48, num_frames=6,
            decoder=dict(embed_dims=16, depth=1, num_heads=2, mlp_hidden=64,
                         out_dims=1536, qkv_bias=True))


def test_cli_num_heads_contradicting_config_json(hf, tmp_path):
    """The audit's repro: config.json says 4 heads, --num-heads 2."""
    tiny_hf(hf, 'VideoMAEForVideoClassification', num_labels=3,
            num_attention_heads=4).save_pretrained(tmp_path / 'hf')
    result = run_tool(tmp_path / 'hf', tmp_path / 'out.pth',
                      '--num-heads', '2')
    assert result.returncode == 1, result.stdout
    assert '--num-heads 2 contradicts the config.json' in result.stderr
    assert 'num_attention_heads=4' in result.stderr
    assert not (tmp_path / 'out.pth').exists()
    result = run_tool(tmp_path / 'hf', tmp_path / 'out.pth',
                      '--num-heads', '4')
    assert result.returncode == 0, result.stderr
    ckpt = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert ckpt['meta']['arch']['num_heads'] == 4


def test_decoder_heads_contradicting_config_json(hf, tmp_path):
    tiny_hf(hf, 'VideoMAEForPreTraining',
            use_mean_pooling=False).save_pretrained(tmp_path)
    with pytest.raises(ConversionError, match=r'--decoder-num-heads 2 '
                       r'contradicts .*decoder_num_attention_heads=4'):
        convert_to_mmvmae(str(tmp_path), decoder_num_heads=2)
    ckpt, _ = convert_to_mmvmae(str(tmp_path), num_heads=2,
                                decoder_num_heads=4)
    assert ckpt['meta']['arch']['decoder']['num_heads'] == 4


def test_heads_contradicting_meta_arch(tmp_path):
    model = randomize_(build_model(ARCH))
    torch.save(dict(state_dict=model.state_dict(), meta=dict(arch=ARCH)),
               tmp_path / 'c.pth')
    for option, value, field in (('num_heads', 2, 'num_heads=4'),
                                 ('decoder_num_heads', 4,
                                  'decoder.num_heads=2')):
        with pytest.raises(ConversionError, match=f'meta.arch .{field}'):
            convert_to_mmvmae(str(tmp_path / 'c.pth'), **{option: value})
    ckpt, _ = convert_to_mmvmae(str(tmp_path / 'c.pth'), num_heads=4,
                                decoder_num_heads=2)
    assert ckpt['meta']['arch']['num_heads'] == 4


def test_heads_unlike_the_release_width_are_noted(tmp_path):
    """Width 384 is ViT-S of the releases (6 heads), the default; the
    original layout states no head count, so another one is taken, noted."""
    torch.save(dict(module=original_finetune(dim=384, depth=1, hidden=64)),
               tmp_path / 's.pth')
    for heads in (None, 6):
        ckpt, report = convert_to_mmvmae(str(tmp_path / 's.pth'),
                                         num_heads=heads)
        assert ckpt['meta']['arch']['num_heads'] == 6
        assert not any('releases of width' in n for n in report.notes)
    ckpt, report = convert_to_mmvmae(str(tmp_path / 's.pth'), num_heads=8)
    assert ckpt['meta']['arch']['num_heads'] == 8
    assert '--num-heads 8: the VideoMAE / V2 releases of width 384 use 6 ' \
        '(the file states none)' in report.notes


def _training_checkpoint(path, cfg_text: str) -> None:
    """What mmengine's Runner saves: no meta.arch, the config as text."""
    model = randomize_(build_model(ARCH))
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(epoch=1, cfg=cfg_text)), path)


def test_training_checkpoint_meta_cfg_to_hf(hf, tmp_path):
    text = Config(dict(model=model_config(ARCH))).pretty_text
    _training_checkpoint(tmp_path / 'epoch_1.pth', text)
    ckpt, reports = convert_checkpoint(str(tmp_path / 'epoch_1.pth'),
                                       str(tmp_path / 'hf'), dst_format='hf')
    arch = ckpt['meta']['arch']
    assert (arch['num_heads'], arch['decoder']['num_heads'],
            arch['img_size'], arch['num_frames']) == (4, 2, 48, 6)
    assert any('meta.cfg' in note for note in reports[0].notes)
    back = hf.VideoMAEForPreTraining.from_pretrained(str(tmp_path / 'hf'))
    assert (back.config.num_attention_heads, back.config.image_size,
            back.config.num_frames) == (4, 48, 6)
    with pytest.raises(ConversionError, match=r'--num-heads 2 contradicts '
                       r"the model config in the checkpoint's meta.cfg"):
        convert_to_mmvmae(str(tmp_path / 'epoch_1.pth'), num_heads=2)
    wrong = text.replace('embed_dims=32', 'embed_dims=64')
    _training_checkpoint(tmp_path / 'wrong.pth', wrong)
    with pytest.raises(ConversionError, match=r"'embed_dims': \(64, 32\)"):
        convert_to_mmvmae(str(tmp_path / 'wrong.pth'))


def test_meta_cfg_is_never_executed(tmp_path):
    marker = tmp_path / 'executed'
    text = (f'open({str(marker)!r}, "w").close()\n'
            'model = dict(type="VideoMAE", backbone=dict(type="VideoMAEViT", '
            f'arch=dict(embed_dims=32, depth=2, num_heads=__import__("os")'
            f'.system("touch {marker}")), img_size=48))\n')
    arch = arch_from_cfg(text)
    assert not marker.exists()
    assert 'num_heads' not in arch and arch['img_size'] == 48
    _training_checkpoint(tmp_path / 'c.pth', text)
    with pytest.raises(ConversionError, match='--num-heads'):
        convert_to_mmvmae(str(tmp_path / 'c.pth'))  # not a default either
    assert not marker.exists()
    assert arch_from_cfg('model = dict(**evil())') is None
    assert arch_from_cfg('not python (') is None
