"""The authors' VideoMAE / V2 key layout (built from VIDEOMAE.md) -> mmvmae."""
import argparse
import math

import pytest
import torch

from mmvmae.convert import ConversionError, build_model, convert_to_mmvmae


def _block(prefix: str, dim: int, hidden: int, gen) -> dict:
    shapes = {'norm1.weight': (dim, ), 'norm1.bias': (dim, ),
              'attn.qkv.weight': (3 * dim, dim), 'attn.q_bias': (dim, ),
              'attn.v_bias': (dim, ), 'attn.proj.weight': (dim, dim),
              'attn.proj.bias': (dim, ), 'norm2.weight': (dim, ),
              'norm2.bias': (dim, ), 'mlp.fc1.weight': (hidden, dim),
              'mlp.fc1.bias': (hidden, ), 'mlp.fc2.weight': (dim, hidden),
              'mlp.fc2.bias': (dim, )}
    return {prefix + k: 0.2 * torch.randn(s, generator=gen)
            for k, s in shapes.items()}


def original_finetune(dim=32, depth=2, hidden=128, patch=16, classes=5,
                      pooling='mean', seed=0) -> dict:
    """``patch_embed.proj``, ``blocks.N.*``, ``fc_norm`` (or ``norm``),
    ``head``."""
    gen = torch.Generator().manual_seed(seed)
    state = {'patch_embed.proj.weight': torch.randn(dim, 3, 2, patch, patch,
                                                    generator=gen) * 0.05,
             'patch_embed.proj.bias': torch.randn(dim, generator=gen)}
    for i in range(depth):
        state.update(_block(f'blocks.{i}.', dim, hidden, gen))
    norm = 'fc_norm' if pooling == 'mean' else 'norm'
    state[f'{norm}.weight'] = 1 + 0.1 * torch.randn(dim, generator=gen)
    state[f'{norm}.bias'] = 0.1 * torch.randn(dim, generator=gen)
    state['head.weight'] = torch.randn(classes, dim, generator=gen)
    state['head.bias'] = torch.randn(classes, generator=gen)
    return state


def original_pretrain(dim=32, depth=2, dec_dim=16, dec_depth=1, seed=0):
    """``encoder.*``, ``encoder_to_decoder``, ``mask_token``,
    ``decoder.*``; no position table."""
    gen = torch.Generator().manual_seed(seed)
    enc = original_finetune(dim, depth, 4 * dim, pooling='first', seed=seed)
    state = {'encoder.' + k: v for k, v in enc.items()
             if not k.startswith('head.')}
    state['encoder_to_decoder.weight'] = torch.randn(dec_dim, dim,
                                                     generator=gen)
    state['mask_token'] = torch.randn(1, 1, dec_dim, generator=gen)
    for i in range(dec_depth):
        state.update(_block(f'decoder.blocks.{i}.', dec_dim, 4 * dec_dim, gen))
    state['decoder.norm.weight'] = torch.ones(dec_dim)
    state['decoder.norm.bias'] = torch.zeros(dec_dim)
    state['decoder.head.weight'] = torch.randn(1536, dec_dim, generator=gen)
    state['decoder.head.bias'] = torch.randn(1536, generator=gen)
    return state


def manual_attention(x, src: dict, prefix: str, heads: int):
    """qkv weight with bias cat(q_bias, zeros, v_bias), softmax attention,
    output projection: the VIDEOMAE.md formula, from the source tensors."""
    b, n, c = x.shape
    q_bias, v_bias = src[prefix + 'attn.q_bias'], src[prefix + 'attn.v_bias']
    bias = torch.cat([q_bias, torch.zeros_like(q_bias), v_bias])
    qkv = x @ src[prefix + 'attn.qkv.weight'].T + bias
    q, k, v = qkv.reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    attn = (q @ k.transpose(-2, -1) / math.sqrt(c // heads)).softmax(-1)
    out = (attn @ v).transpose(1, 2).reshape(b, n, c)
    return out @ src[prefix + 'attn.proj.weight'].T + \
        src[prefix + 'attn.proj.bias']


def _load(ckpt):
    model = build_model(ckpt['meta']['arch'])
    model.load_state_dict(ckpt['state_dict'], strict=True)
    return model


def test_pretrain_checkpoint_places_every_key(tmp_path):
    src = original_pretrain()
    torch.save(dict(model=src, epoch=799, args=argparse.Namespace(
        model='pretrain_videomae_tiny', mask_ratio=0.9)), tmp_path / 'p.pth')
    ckpt, report = convert_to_mmvmae(str(tmp_path / 'p.pth'), num_heads=2,
                                     decoder_num_heads=2, img_size=32,
                                     num_frames=4)
    assert len(report.mapped) == len(src) and not report.dropped
    arch = ckpt['meta']['arch']
    assert arch['decoder']['embed_dims'] == 16 and arch['norm_eps'] == 1e-6
    # the training args the release pickles set what the options do not
    torch.save(dict(model=src, args=argparse.Namespace(
        input_size=32, num_frames=4, normlize_target=False)),
        tmp_path / 'a.pth')
    recorded, report = convert_to_mmvmae(str(tmp_path / 'a.pth'),
                                         num_heads=2, decoder_num_heads=2,
                                         num_frames=8)
    assert (recorded['meta']['arch']['img_size'],
            recorded['meta']['arch']['num_frames'],
            recorded['meta']['arch']['norm_pix_loss']) == (32, 8, False)
    assert 'from the training args in the checkpoint: img_size=32, ' \
        'num_frames=4, norm_pix_loss=False' in report.notes
    model = _load(ckpt)
    assert torch.equal(model.neck.mask_token, src['mask_token'])
    assert torch.equal(model.neck.head.weight, src['decoder.head.weight'])
    assert torch.equal(model.backbone.norm.bias, src['encoder.norm.bias'])
    x = torch.randn(2, 7, 32)
    with torch.no_grad():
        for i, block in enumerate(model.backbone.blocks):
            torch.testing.assert_close(
                block.attn(x),
                manual_attention(x, src, f'encoder.blocks.{i}.', 2))
        torch.testing.assert_close(
            model.neck.blocks[0].attn(x[..., :16]),
            manual_attention(x[..., :16], src, 'decoder.blocks.0.', 2))


@pytest.mark.parametrize('pooling', ['mean', 'first'])
def test_finetuned_deepspeed_checkpoint(tmp_path, pooling):
    src = original_finetune(pooling=pooling)
    from mmaction.models.backbones.vit_mae import get_sinusoid_encoding
    src_with_table = dict(src, pos_embed=get_sinusoid_encoding(8, 32))
    torch.save(dict(module=src_with_table), tmp_path / 'f.pth')
    ckpt, report = convert_to_mmvmae(str(tmp_path / 'f.pth'),
                                     src_format='videomae', num_heads=4,
                                     img_size=32, num_frames=4)
    assert [k for k, _ in report.dropped] == ['pos_embed']
    arch = ckpt['meta']['arch']
    assert arch['out_type'] == ('avg' if pooling == 'mean' else 'tokens')
    model = _load(ckpt)
    assert torch.equal(model.cls_head.fc_cls.weight, src['head.weight'])
    x = torch.randn(1, 5, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            model.backbone.blocks[1].attn(x),
            manual_attention(x, src, 'blocks.1.', 4))


def test_release_layer_norms_use_eps_1e6(tmp_path):
    """VIDEOMAE.md: LayerNorm eps 1e-6 everywhere in the releases, fc_norm
    and the decoder norms too; the weights cannot show it."""
    for name, src in (('f', original_finetune()),
                      ('p', original_pretrain())):
        torch.save(dict(model=src), tmp_path / f'{name}.pth')
        ckpt, _ = convert_to_mmvmae(str(tmp_path / f'{name}.pth'),
                                    src_format='videomae', num_heads=4,
                                    decoder_num_heads=2, img_size=32,
                                    num_frames=4)
        norms = [m for m in _load(ckpt).modules()
                 if isinstance(m, torch.nn.LayerNorm)]
        assert len(norms) > 4 and {m.eps for m in norms} == {1e-6}, name


def test_v2_giant_layout_patch14(tmp_path):
    """V2 giant: patch 14, MLP ratio 48/11 (here width 44 -> 192)."""
    src = original_finetune(dim=44, hidden=192, patch=14, classes=3)
    torch.save(dict(module=src), tmp_path / 'g.pth')
    ckpt, report = convert_to_mmvmae(str(tmp_path / 'g.pth'),
                                     src_format='videomaev2', num_heads=4,
                                     img_size=28, num_frames=4)
    assert 'V2' in report.source_format
    arch = ckpt['meta']['arch']
    assert (arch['patch_size'], arch['mlp_hidden']) == (14, 192)
    assert arch['mlp_ratio'] == pytest.approx(48 / 11)
    model = _load(ckpt)
    with torch.no_grad():
        logits = model.cls_head(model.backbone(torch.randn(1, 3, 4, 28, 28)))
    assert logits.shape == (1, 3)
    x = torch.randn(1, 6, 44)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone.blocks[0].attn(x),
                                   manual_attention(x, src, 'blocks.0.', 4))


def test_refusals(tmp_path):
    src = original_finetune()
    torch.save(dict(model=dict(src, **{'blocks.0.attn.qkv.bias':
                                       torch.ones(96)})), tmp_path / 'a.pth')
    with pytest.raises(ConversionError, match='blocks.0.attn.qkv.bias'):
        convert_to_mmvmae(str(tmp_path / 'a.pth'), num_heads=4)
    torch.save(dict(model=src), tmp_path / 'b.pth')
    with pytest.raises(ConversionError, match='--num-heads'):
        convert_to_mmvmae(str(tmp_path / 'b.pth'))
    with pytest.raises(ConversionError, match='mmaction2 layout|videomae '
                       'layout'):
        convert_to_mmvmae(str(tmp_path / 'b.pth'), src_format='mmaction2')
