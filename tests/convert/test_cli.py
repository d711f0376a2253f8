"""tools/convert_checkpoint.py end to end: in a subprocess (the real entry
point) and, for the cheaper cases, through its ``main``."""
import torch
from convert_helpers import run_tool
from mmengine.runner import load_checkpoint
from test_original import original_finetune

from mmvmae.convert import build_model


def test_original_to_mmvmae_and_hf(tmp_path, hf, tool_main, capsys):
    src = original_finetune(classes=3)
    torch.save(dict(module=src), tmp_path / 'ft.pth')
    result = run_tool(tmp_path / 'ft.pth', tmp_path / 'out.pth',
                      '--num-heads', '4', '--img-size', '32',
                      '--num-frames', '4')
    assert result.returncode == 0, result.stderr
    assert 'detected format: VideoMAE / VideoMAE V2 fine-tuned' in \
        result.stdout
    assert "type='VideoMAEViT'" in result.stdout  # the config snippet
    ckpt = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert ckpt['meta']['arch']['num_classes'] == 3
    assert torch.equal(ckpt['state_dict']['cls_head.fc_cls.weight'],
                       src['head.weight'])
    # what `load_from=out.pth` does: mmengine's loader, weights only
    model = build_model(ckpt['meta']['arch'])
    load_checkpoint(model, str(tmp_path / 'out.pth'), strict=True)
    assert torch.equal(model.backbone.blocks[1].attn.q_bias,
                       src['blocks.1.attn.q_bias'])

    assert tool_main([str(tmp_path / 'out.pth'), str(tmp_path / 'hf'),
                      '--to', 'hf']) == 0
    assert 'mmvmae -> Hugging Face' in capsys.readouterr().out
    model, info = hf.VideoMAEForVideoClassification.from_pretrained(
        str(tmp_path / 'hf'), output_loading_info=True)
    assert not info['missing_keys'] and not info['unexpected_keys']
    attn = model.videomae.encoder.layer[0].attention.attention
    assert torch.equal(attn.value.bias, src['blocks.0.attn.v_bias'])
    assert attn.key.bias is None


def test_garbage_checkpoint_fails_clearly(tmp_path, tool_main, capsys):
    torch.save({'state_dict': {'conv1.weight': torch.ones(2, 2)}},
               tmp_path / 'garbage.pth')
    result = run_tool(tmp_path / 'garbage.pth', tmp_path / 'out.pth')
    assert result.returncode != 0
    assert 'unknown checkpoint layout' in result.stderr
    assert 'conv1.weight' in result.stderr
    (tmp_path / 'text.pth').write_text('not a checkpoint')
    assert tool_main([str(tmp_path / 'text.pth'),
                      str(tmp_path / 'out.pth')]) != 0
    assert 'weights-only' in capsys.readouterr().err
    assert not (tmp_path / 'out.pth').exists()


def test_zeroed_biases_fail(tmp_path, tool_main, capsys):
    src = original_finetune()
    for key in src:
        if key.endswith(('q_bias', 'v_bias')):
            src[key] = torch.zeros_like(src[key])
    torch.save(dict(model=src), tmp_path / 'zero.pth')
    args = [str(tmp_path / 'zero.pth'), str(tmp_path / 'out.pth'),
            '--num-heads', '4']
    assert tool_main(args) != 0
    assert 'q/v bias' in capsys.readouterr().err
    assert tool_main(args + ['--allow-zero-qv-bias']) == 0


def test_model_config_is_not_meta_config(tmp_path, tool_main):
    """mmvmae drops a checkpoint's meta['config'] with a security warning
    (mmengine's resume runs it as Python), so the converter stores the model
    config as meta['model_config']; it builds the model of the weights."""
    import mmvmae
    from mmengine.registry import DefaultScope

    from mmvmae.registry import MODELS
    torch.save(dict(module=original_finetune()), tmp_path / 'ft.pth')
    assert tool_main([str(tmp_path / 'ft.pth'), str(tmp_path / 'out.pth'),
                      '--num-heads', '4']) == 0
    ckpt = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert 'config' not in ckpt['meta']
    mmvmae.register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmvmae'):
        model = MODELS.build(ckpt['meta']['model_config'])
    model.load_state_dict(ckpt['state_dict'], strict=True)


def test_layer_norm_eps_reaches_the_converted_model(tmp_path, tool_main,
                                                    capsys):
    """``--layer-norm-eps`` overrides the eps of every LayerNorm: it is
    recorded in meta.arch and the model built from it uses it."""
    torch.save(dict(module=original_finetune()), tmp_path / 'ft.pth')
    args = [str(tmp_path / 'ft.pth'), str(tmp_path / 'out.pth'),
            '--num-heads', '4', '--overwrite']
    assert tool_main(args) == 0
    default = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert default['meta']['arch']['norm_eps'] == 1e-6  # not what we pass
    assert tool_main(args + ['--layer-norm-eps', '1e-12']) == 0
    assert 'LayerNorm eps set to 1e-12' in capsys.readouterr().out
    arch = torch.load(tmp_path / 'out.pth', weights_only=True)['meta']['arch']
    assert arch['norm_eps'] == arch['fc_norm_eps'] == 1e-12
    norms = [m for m in build_model(arch).modules()
             if isinstance(m, torch.nn.LayerNorm)]
    assert norms and all(m.eps == 1e-12 for m in norms)
