import pytest
import torch

from mmvmae.models.necks.videomae_decoder import (VideoMAEDecoder,
                                                  decoder_preset)

from .test_backbone import randomise, tube_mask

N = 32  # token grid (2, 4, 4); tubelet 2, patch 4 -> 2*4*4*3 = 96 values


def tiny(**kwargs) -> VideoMAEDecoder:
    decoder = VideoMAEDecoder(**dict(
        dict(in_channels=24, embed_dims=16, depth=2, num_heads=2,
             patch_size=4, tubelet_size=2, num_tokens=N), **kwargs)).eval()
    randomise(decoder)
    return decoder


def reference(decoder, x_vis, mask, predict):
    """One sample at a time: visible tokens, then mask tokens at
    ``predict``, each with its position; head on the mask tokens."""
    preds = []
    pos = decoder.pos_embed[0]
    for i in range(mask.shape[0]):
        vis = decoder.encoder_to_decoder(x_vis[i]) + pos[~mask[i]]
        hidden = decoder.mask_token[0] + pos[predict[i]]
        x = torch.cat([vis, hidden])[None]
        for block in decoder.blocks:
            x = block(x)
        preds.append(decoder.head(decoder.norm(x[0, vis.shape[0]:])))
    return torch.stack(preds)


def running_cell_like(b: int, keep: int) -> torch.Tensor:
    """A decoder mask with ``keep`` kept tokens per sample."""
    return tube_mask(b, N, keep)


def test_v1_predicts_masked_tokens():
    decoder = tiny()
    mask = tube_mask(3, N, 8)
    x_vis = torch.randn(3, 8, 24)
    with torch.no_grad():
        pred, index, weight = decoder(x_vis, mask)
        ref = reference(decoder, x_vis, mask, mask)
    assert pred.shape == (3, 24, 96)
    for i in range(3):
        assert torch.equal(index[i], mask[i].nonzero()[:, 0])
    assert torch.equal(weight, torch.ones(3, 24))
    torch.testing.assert_close(pred, ref, atol=1e-5, rtol=1e-5)


def test_v2_predicts_decoder_kept_tokens():
    decoder = tiny()
    mask = tube_mask(2, N, 8)
    decoder_mask = running_cell_like(2, 16)  # True = dropped
    x_vis = torch.randn(2, 8, 24)
    with torch.no_grad():
        pred, index, weight = decoder(x_vis, mask, decoder_mask)
        ref = reference(decoder, x_vis, mask, ~decoder_mask)
    assert pred.shape == (2, 16, 96)  # the decoder sees 8 + 16 tokens
    for i in range(2):
        kept = (~decoder_mask[i]).nonzero()[:, 0]
        assert torch.equal(index[i], kept)
        assert torch.equal(weight[i], mask[i, kept].float())
    torch.testing.assert_close(pred, ref, atol=1e-5, rtol=1e-5)


def test_eager_sdpa_and_checkpointing():
    mask = tube_mask(2, N, 8)
    x_vis = torch.randn(2, 8, 24, requires_grad=True)
    base = tiny()
    for other in (tiny(attn_impl='eager'), tiny(with_cp=True)):
        other.load_state_dict(base.state_dict())
        a, b = base(x_vis, mask)[0], other(x_vis, mask)[0]
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
        ga = torch.autograd.grad(a.sum(), base.mask_token)[0]
        gb = torch.autograd.grad(b.sum(), other.mask_token)[0]
        torch.testing.assert_close(ga, gb, atol=1e-5, rtol=1e-5)


def test_state_dict_names():
    keys = set(tiny(depth=1).state_dict())
    assert {'encoder_to_decoder.weight', 'mask_token', 'norm.weight',
            'head.weight', 'head.bias', 'blocks.0.attn.q_bias'} <= keys
    assert 'encoder_to_decoder.bias' not in keys
    assert 'pos_embed' not in keys
    assert not any(k.startswith(('blocks.1', 'decoder')) for k in keys)


def test_bad_inputs():
    decoder = tiny()
    mask = tube_mask(2, N, 8)
    with pytest.raises(ValueError, match='num_tokens'):
        decoder(torch.randn(2, 8, 24), tube_mask(2, 16, 8))
    with pytest.raises(ValueError, match='x_vis has 9'):
        decoder(torch.randn(2, 9, 24), mask)
    uneven = running_cell_like(2, 16)
    uneven[0, uneven[0].nonzero()[0]] = False
    with pytest.raises(ValueError, match='same number'):
        decoder(torch.randn(2, 8, 24), mask, uneven)
    with pytest.raises(ValueError, match='attn_impl'):
        tiny(attn_impl='flash')
    nothing_hidden = torch.zeros(2, N, dtype=torch.bool)
    with pytest.raises(ValueError, match='no token to predict'):
        decoder(torch.randn(2, N, 24), nothing_hidden)


def test_block_with_no_query_rows():
    """``last=0`` computes no rows (a negative slice would keep all)."""
    block = tiny().blocks[0]
    x = torch.randn(2, N, 16)
    assert block(x, last=0).shape == (2, 0, 16)
    assert torch.allclose(block(x, last=3), block(x)[:, -3:], atol=1e-6)


def test_presets():
    assert decoder_preset('base') == dict(in_channels=768, embed_dims=384,
                                          num_heads=6, depth=4)
    assert decoder_preset('huge')['embed_dims'] == 640
    with pytest.raises(ValueError, match='small'):
        decoder_preset('tiny')


def test_norm_eps_and_mask_token_init():
    """``norm_eps`` reaches the blocks and (by default) the final norm; the
    mask token starts as trunc_normal(0.02), not zeros."""
    torch.manual_seed(0)
    decoder = VideoMAEDecoder(in_channels=24, embed_dims=64, depth=2,
                              num_heads=2, patch_size=4, num_tokens=N,
                              norm_eps=1e-12)
    assert {m.eps for m in decoder.modules()
            if isinstance(m, torch.nn.LayerNorm)} == {1e-12}
    assert 0.01 < decoder.mask_token.std() < 0.03
