"""A Hugging Face ``VideoMAEModel`` (a backbone alone) <-> mmvmae."""
import pytest
import torch
from test_hf_parity import _hf_load, tiny_hf, video

from mmvmae.convert import (ConversionError, ConversionReport, build_model,
                            convert_to_mmvmae, export_hf)


def test_videomae_model_both_ways(hf, tmp_path):
    """use_mean_pooling=False: the tokens after the final norm, the same in
    mmvmae, and back in HF bit for bit."""
    ref = tiny_hf(hf, 'VideoMAEModel', seed=12, use_mean_pooling=False)
    ref.save_pretrained(tmp_path / 'a')
    ckpt, report = convert_to_mmvmae(str(tmp_path / 'a'))
    assert 'Hugging Face VideoMAE (backbone)' in report.source_format
    assert all(k.startswith('backbone.') for k in ckpt['state_dict'])
    assert ckpt['meta']['model_config']['type'] == 'Recognizer3D'
    assert 'cls_head' not in ckpt['meta']['model_config']
    model = build_model(ckpt['meta']['arch'])
    model.load_state_dict(ckpt['state_dict'], strict=True)
    x = video(seed=13)
    with torch.no_grad():
        expected = ref(pixel_values=x.transpose(1, 2)).last_hidden_state
        torch.testing.assert_close(model.backbone(x), expected, atol=1e-4,
                                   rtol=0)

    export_hf(ckpt['state_dict'], ckpt['meta']['arch'], str(tmp_path / 'b'),
              ConversionReport())
    back = _hf_load(hf, 'VideoMAEModel', tmp_path / 'b')
    for key, value in ref.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    with torch.no_grad():
        assert torch.equal(back(pixel_values=x.transpose(1, 2)).
                           last_hidden_state, expected)
    again, _ = convert_to_mmvmae(str(tmp_path / 'b'))
    for key, value in ckpt['state_dict'].items():
        assert torch.equal(again['state_dict'][key], value), key
    assert again['meta']['arch'] == ckpt['meta']['arch']


def test_videomae_model_with_mean_pooling_is_refused(hf, tmp_path):
    """HF's VideoMAEModel(use_mean_pooling=True) has no final norm at all
    (fc_norm lives in the classification model); VideoMAEViT always has
    one, so there is no equivalent."""
    tiny_hf(hf, 'VideoMAEModel', use_mean_pooling=True).save_pretrained(
        tmp_path)
    with pytest.raises(ConversionError, match='no final norm.*VideoMAEModel '
                       'with use_mean_pooling=True'):
        convert_to_mmvmae(str(tmp_path))


def test_mean_pooled_backbone_export_is_refused(hf, tmp_path):
    """A backbone with fc_norm (out_type 'avg') has no HF VideoMAEModel
    counterpart: refused, nothing written (it used to write fc_norm.*,
    unexpected keys for VideoMAEModel)."""
    ref = tiny_hf(hf, 'VideoMAEForVideoClassification', num_labels=3,
                  use_mean_pooling=True)
    ref.save_pretrained(tmp_path / 'a')
    ckpt, _ = convert_to_mmvmae(str(tmp_path / 'a'))
    state = {k: v for k, v in ckpt['state_dict'].items()
             if k.startswith('backbone.')}
    arch = dict(ckpt['meta']['arch'], num_classes=None, id2label=None)
    build_model(arch).load_state_dict(state, strict=True)  # a valid model
    with pytest.raises(ConversionError, match='fc_norm, which HF '
                       'VideoMAEModel cannot hold'):
        export_hf(state, arch, str(tmp_path / 'b'), ConversionReport())
    assert not (tmp_path / 'b').exists()


def test_config_json_pooling_must_match_the_weights(hf, tmp_path):
    """HF builds VideoMAEModel's final norm only with use_mean_pooling=False:
    a config.json saying True next to weights with the norm is refused."""
    import json
    tiny_hf(hf, 'VideoMAEModel', use_mean_pooling=False).save_pretrained(
        tmp_path)
    config = json.loads((tmp_path / 'config.json').read_text())
    config['use_mean_pooling'] = True
    (tmp_path / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ConversionError, match=r"'use_mean_pooling': "
                       r'\(True, False\)\}$'):  # no qv_bias hint
        convert_to_mmvmae(str(tmp_path))
