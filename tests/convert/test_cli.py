"""tools/convert_checkpoint.py end to end, in a subprocess."""
import torch
from convert_helpers import run_tool
from test_original import original_finetune


def test_original_to_mmvmae_and_hf(tmp_path, hf):
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

    result = run_tool(tmp_path / 'out.pth', tmp_path / 'hf', '--to', 'hf')
    assert result.returncode == 0, result.stderr
    model, info = hf.VideoMAEForVideoClassification.from_pretrained(
        str(tmp_path / 'hf'), output_loading_info=True)
    assert not info['missing_keys'] and not info['unexpected_keys']
    attn = model.videomae.encoder.layer[0].attention.attention
    assert torch.equal(attn.value.bias, src['blocks.0.attn.v_bias'])
    assert attn.key.bias is None


def test_garbage_checkpoint_fails_clearly(tmp_path):
    torch.save({'state_dict': {'conv1.weight': torch.ones(2, 2)}},
               tmp_path / 'garbage.pth')
    result = run_tool(tmp_path / 'garbage.pth', tmp_path / 'out.pth')
    assert result.returncode != 0
    assert 'unknown checkpoint layout' in result.stderr
    assert 'conv1.weight' in result.stderr
    (tmp_path / 'text.pth').write_text('not a checkpoint')
    result = run_tool(tmp_path / 'text.pth', tmp_path / 'out.pth')
    assert result.returncode != 0 and 'weights-only' in result.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_zeroed_biases_fail(tmp_path):
    src = original_finetune()
    for key in src:
        if key.endswith(('q_bias', 'v_bias')):
            src[key] = torch.zeros_like(src[key])
    torch.save(dict(model=src), tmp_path / 'zero.pth')
    args = (tmp_path / 'zero.pth', tmp_path / 'out.pth', '--num-heads', '4')
    result = run_tool(*args)
    assert result.returncode != 0 and 'q/v bias' in result.stderr
    assert run_tool(*args, '--allow-zero-qv-bias').returncode == 0
