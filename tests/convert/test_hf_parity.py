"""HF transformers VideoMAE -> mmvmae gives the same numbers, and back."""
import pytest
import torch
from convert_helpers import random_mask, randomize_

from mmvmae.convert import (ConversionError, ConversionReport, build_model,
                            convert_to_mmvmae, export_hf)

TINY = dict(image_size=32, num_frames=4, tubelet_size=2, hidden_size=32,
            num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            qv_bias=True, decoder_hidden_size=32, decoder_num_hidden_layers=2,
            decoder_num_attention_heads=4, decoder_intermediate_size=96)


def tiny_hf(hf, cls_name: str, seed: int = 0, **overrides):
    config = hf.VideoMAEConfig(**dict(TINY, **overrides))
    return randomize_(getattr(hf, cls_name)(config), seed).eval()


def save_hf(model, path, layout: str):
    """``q_bias``: save_pretrained files; ``query.bias``: a plain
    ``torch.save(model.state_dict())`` under transformers 5.x."""
    if layout == 'q_bias':
        model.save_pretrained(path)
    else:
        model.config.save_pretrained(path)
        torch.save(model.state_dict(), path / 'pytorch_model.bin')
    keys = _saved_keys(path)
    assert any(k.endswith('attention.attention.' + (
        'q_bias' if layout == 'q_bias' else 'query.bias')) for k in keys)
    return path


def _saved_keys(path):
    from mmvmae.convert import load_source
    return set(load_source(str(path))[0])


def video(seed: int = 1, batch: int = 2, frames: int = 4, size: int = 32):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, frames, size, size, generator=gen)


@pytest.mark.parametrize('layout', ['q_bias', 'query.bias'])
@pytest.mark.parametrize('patch,eps,attn', [(16, 1e-6, 'eager'),
                                            (8, 1e-12, 'sdpa')])
def test_classification_logits_match(hf, tmp_path, layout, patch, eps, attn):
    ref = tiny_hf(hf, 'VideoMAEForVideoClassification', num_labels=5,
                  use_mean_pooling=True, patch_size=patch,
                  layer_norm_eps=eps, attn_implementation=attn)
    ckpt, report = convert_to_mmvmae(str(save_hf(ref, tmp_path, layout)))
    arch = ckpt['meta']['arch']
    assert (arch['patch_size'], arch['num_classes'], arch['norm_eps'],
            arch['fc_norm_eps']) == (patch, 5, eps, 1e-5)
    model = build_model(arch)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    # the eps of every norm, against HF's modules (at these sizes the
    # logits cannot tell 1e-5 from 1e-6)
    hf_block = ref.videomae.encoder.layer[0]
    for block in model.backbone.blocks:
        assert block.norm1.eps == hf_block.layernorm_before.eps == eps
        assert block.norm2.eps == hf_block.layernorm_after.eps
    assert model.backbone.fc_norm.eps == ref.fc_norm.eps == 1e-5
    x = video()
    with torch.no_grad():
        expected = ref(pixel_values=x.transpose(1, 2)).logits
        logits = model.cls_head(model.backbone(x))
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=0)
    assert 'Hugging Face' in report.source_format


def _data_samples(mask: torch.Tensor):
    from mmaction.structures import ActionDataSample
    samples = []
    for row in mask:
        sample = ActionDataSample()
        sample.mask = row.numpy()
        samples.append(sample)
    return samples


@pytest.mark.parametrize('layout', ['q_bias', 'query.bias'])
@pytest.mark.parametrize('patch,norm_pix', [(16, True), (8, False)])
def test_pretraining_loss_and_predictions_match(hf, tmp_path, layout, patch,
                                                norm_pix):
    ref = tiny_hf(hf, 'VideoMAEForPreTraining', use_mean_pooling=False,
                  patch_size=patch, norm_pix_loss=norm_pix,
                  layer_norm_eps=1e-6)
    ckpt, _ = convert_to_mmvmae(str(save_hf(ref, tmp_path, layout)))
    model = build_model(ckpt['meta']['arch'])
    model.load_state_dict(ckpt['state_dict'], strict=True)
    # the eps of every norm, against HF's modules (HF's decoder norm: 1e-5)
    hf_block = ref.videomae.encoder.layer[0]
    assert {b.norm1.eps for b in model.backbone.blocks} == {
        hf_block.layernorm_before.eps}
    assert model.backbone.norm.eps == ref.videomae.layernorm.eps
    assert {b.norm1.eps for b in model.neck.blocks} == {
        ref.decoder.decoder_layers[0].layernorm_before.eps}
    assert model.neck.norm.eps == ref.decoder.norm.eps == 1e-5
    x = video(seed=2)
    n = 2 * (32 // patch)**2
    mask = random_mask(2, n, n * 3 // 4, seed=3)
    with torch.no_grad():
        out = ref(pixel_values=x.transpose(1, 2), bool_masked_pos=mask)
        pred = model(x, _data_samples(mask), mode='tensor')
        loss = model(x, _data_samples(mask), mode='loss')['loss']
    torch.testing.assert_close(pred, out.logits, atol=1e-4, rtol=0)
    torch.testing.assert_close(loss, out.loss, atol=1e-4, rtol=1e-5)


def _hf_load(hf, cls_name, path):
    model, info = getattr(hf, cls_name).from_pretrained(
        str(path), output_loading_info=True)
    assert not info['missing_keys'] and not info['unexpected_keys'], info
    return model.eval()


@pytest.mark.parametrize('cls_name,extra', [
    ('VideoMAEForVideoClassification', dict(num_labels=3,
                                            use_mean_pooling=True)),
    ('VideoMAEForPreTraining', dict(use_mean_pooling=False)),
])
def test_round_trip_is_exact(hf, tmp_path, cls_name, extra):
    ref = tiny_hf(hf, cls_name, seed=4, layer_norm_eps=1e-6, **extra)
    ckpt, _ = convert_to_mmvmae(str(save_hf(ref, tmp_path / 'a', 'q_bias')))
    export_hf(ckpt['state_dict'], ckpt['meta']['arch'], str(tmp_path / 'b'),
              ConversionReport())
    back = _hf_load(hf, cls_name, tmp_path / 'b')
    for key, value in ref.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    again, _ = convert_to_mmvmae(str(tmp_path / 'b'))
    assert again['state_dict'].keys() == ckpt['state_dict'].keys()
    for key, value in ckpt['state_dict'].items():
        assert torch.equal(again['state_dict'][key], value), key
    assert again['meta']['arch'] == ckpt['meta']['arch']


def test_export_of_converted_original_loads_in_hf(hf, tmp_path):
    """An mmvmae model (eps 1e-6 everywhere) exported to HF gives the same
    logits; only HF's fixed fc_norm eps (1e-5) differs."""
    ref = tiny_hf(hf, 'VideoMAEForVideoClassification', seed=5, num_labels=4,
                  use_mean_pooling=True, layer_norm_eps=1e-6)
    ckpt, _ = convert_to_mmvmae(str(save_hf(ref, tmp_path / 'a', 'q_bias')),
                                layer_norm_eps=1e-6)
    report = ConversionReport()
    export_hf(ckpt['state_dict'], ckpt['meta']['arch'], str(tmp_path / 'b'),
              report)
    assert any('fc_norm' in note for note in report.notes)
    back = _hf_load(hf, 'VideoMAEForVideoClassification', tmp_path / 'b')
    model = build_model(ckpt['meta']['arch'])
    model.load_state_dict(ckpt['state_dict'])
    x = video(seed=6)
    with torch.no_grad():
        torch.testing.assert_close(
            back(pixel_values=x.transpose(1, 2)).logits,
            model.cls_head(model.backbone(x)), atol=1e-3, rtol=0)


def test_zeroed_biases_are_refused(hf, tmp_path):
    ref = tiny_hf(hf, 'VideoMAEForVideoClassification', num_labels=2)
    for layer in ref.videomae.encoder.layer:
        torch.nn.init.zeros_(layer.attention.attention.query.bias)
        torch.nn.init.zeros_(layer.attention.attention.value.bias)
    ref.save_pretrained(tmp_path)
    with pytest.raises(ConversionError, match='exactly zero'):
        convert_to_mmvmae(str(tmp_path))
    ckpt, _ = convert_to_mmvmae(str(tmp_path), allow_zero_qv_bias=True)
    # kept as zero biases, one q and one v bias per layer (not dropped)
    biases = {k: v for k, v in ckpt['state_dict'].items()
              if k.endswith(('q_bias', 'v_bias'))}
    assert len(biases) == 2 * len(ref.videomae.encoder.layer)
    assert all(not v.any() for v in biases.values())


def test_missing_biases_are_refused(hf, tmp_path):
    """config.json says qv_bias but the weights lack them (a bias layout
    the loader did not know): an error, not a model without biases."""
    ref = tiny_hf(hf, 'VideoMAEForVideoClassification', num_labels=2)
    ref.config.save_pretrained(tmp_path)
    state = {k: v for k, v in ref.state_dict().items()
             if not k.endswith(('query.bias', 'value.bias'))}
    torch.save(state, tmp_path / 'pytorch_model.bin')
    with pytest.raises(ConversionError, match='qv_bias.*this means the '
                       'q/v biases are missing'):
        convert_to_mmvmae(str(tmp_path))


def test_key_bias_zero_is_dropped_nonzero_refused(hf, tmp_path):
    """VideoMAE keys have no bias: an all-zero ``key.bias`` (some exports
    carry one) is dropped with a note, a non-zero one is refused."""
    ref = tiny_hf(hf, 'VideoMAEForVideoClassification', num_labels=2)
    ref.config.save_pretrained(tmp_path)
    state = dict(ref.state_dict())
    keys = [k.replace('query.bias', 'key.bias') for k in state
            if k.endswith('attention.attention.query.bias')]
    for value in (0.0, 0.5):
        state.update({k: torch.full((32, ), value) for k in keys})
        torch.save(state, tmp_path / 'pytorch_model.bin')
        if value:
            with pytest.raises(ConversionError, match='key.bias is non-zero'):
                convert_to_mmvmae(str(tmp_path))
        else:
            _, report = convert_to_mmvmae(str(tmp_path))
            assert sorted(k for k, _ in report.dropped) == sorted(keys)


def test_pretraining_config_without_norm_pix_loss(hf, tmp_path):
    """A config.json without ``norm_pix_loss`` means HF's default (True):
    the normalised pixel target."""
    import json
    ref = tiny_hf(hf, 'VideoMAEForPreTraining', use_mean_pooling=False)
    ref.save_pretrained(tmp_path)
    config = json.loads((tmp_path / 'config.json').read_text())
    del config['norm_pix_loss']
    (tmp_path / 'config.json').write_text(json.dumps(config))
    ckpt, _ = convert_to_mmvmae(str(tmp_path))
    assert ckpt['meta']['arch']['norm_pix_loss'] is \
        hf.VideoMAEConfig().norm_pix_loss is True


def test_export_without_qkv_bias_and_with_labels(hf, tmp_path):
    """config.json follows the model: ``qv_bias`` False for a model without
    q/v biases (HF then expects none), ``label2id`` to int ids."""
    import json
    ref = tiny_hf(hf, 'VideoMAEForVideoClassification', seed=3, num_labels=3,
                  qv_bias=False, use_mean_pooling=True,
                  id2label={0: 'run', 1: 'jump', 2: 'sit'})
    ref.save_pretrained(tmp_path / 'a')
    ckpt, _ = convert_to_mmvmae(str(tmp_path / 'a'))
    assert ckpt['meta']['arch']['qkv_bias'] is False
    export_hf(ckpt['state_dict'], ckpt['meta']['arch'], str(tmp_path / 'b'),
              ConversionReport())
    config = json.loads((tmp_path / 'b' / 'config.json').read_text())
    assert config['qv_bias'] is False
    assert config['label2id'] == {'run': 0, 'jump': 1, 'sit': 2}
    back = _hf_load(hf, 'VideoMAEForVideoClassification', tmp_path / 'b')
    for key, value in ref.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key


def test_bare_weights_file_without_config(hf, tmp_path):
    """A lone safetensors file: heads and eps come from the options."""
    from safetensors.torch import save_file
    ref = tiny_hf(hf, 'VideoMAEForVideoClassification', seed=7, num_labels=3,
                  use_mean_pooling=True, layer_norm_eps=1e-6)
    save_file(ref.state_dict(), str(tmp_path / 'w.safetensors'))
    with pytest.raises(ConversionError, match='--num-heads'):
        convert_to_mmvmae(str(tmp_path / 'w.safetensors'))
    ckpt, report = convert_to_mmvmae(str(tmp_path / 'w.safetensors'),
                                     num_heads=2, layer_norm_eps=1e-6,
                                     img_size=32, num_frames=4)
    assert any('no config.json' in note for note in report.notes)
    model = build_model(ckpt['meta']['arch'])
    model.load_state_dict(ckpt['state_dict'])
    x = video(seed=8)
    with torch.no_grad():
        torch.testing.assert_close(
            model.cls_head(model.backbone(x)),
            ref(pixel_values=x.transpose(1, 2)).logits, atol=1e-4, rtol=0)


def test_pretraining_without_encoder_norm_is_refused(hf, tmp_path):
    ref = tiny_hf(hf, 'VideoMAEForPreTraining', use_mean_pooling=True)
    ref.save_pretrained(tmp_path)
    with pytest.raises(ConversionError, match='use_mean_pooling=True'):
        convert_to_mmvmae(str(tmp_path))


def test_mmvmae_trained_checkpoint_exports_to_hf(hf, tmp_path):
    """A checkpoint saved by mmvmae training (no ``meta.arch``) -> HF: the
    same reconstruction, and back again bit for bit."""
    from mmvmae.convert import convert_checkpoint
    arch = dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=4.,
                mlp_hidden=128, patch_size=16, tubelet_size=2, in_channels=3,
                qkv_bias=True, layer_scale=False, out_type='tokens',
                num_classes=None, norm_eps=1e-6, decoder_norm_eps=1e-6,
                img_size=32, num_frames=4,
                decoder=dict(embed_dims=16, depth=1, num_heads=2,
                             mlp_hidden=64, out_dims=1536, qkv_bias=True))
    model = randomize_(build_model(arch), seed=9)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)),
                tmp_path / 'epoch_1.pth')
    _, reports = convert_checkpoint(
        str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'hf'),
        dst_format='hf', num_heads=2, decoder_num_heads=2, img_size=32,
        num_frames=4)
    assert any('meta.arch' in note for note in reports[0].notes)
    ref = _hf_load(hf, 'VideoMAEForPreTraining', tmp_path / 'hf')
    x, mask = video(seed=10), random_mask(2, 8, 6, seed=11)
    with torch.no_grad():
        out = ref(pixel_values=x.transpose(1, 2), bool_masked_pos=mask)
        pred = model(x, _data_samples(mask), mode='tensor')
    # HF's decoder norm eps is fixed at 1e-5 (1e-6 here): close, not equal
    torch.testing.assert_close(pred, out.logits, atol=1e-3, rtol=0)
    back, _ = convert_to_mmvmae(str(tmp_path / 'hf'))
    for key, value in model.state_dict().items():
        assert torch.equal(back['state_dict'][key], value), key
