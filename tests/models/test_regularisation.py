"""Dropout and stochastic depth where the VideoMAE blocks put them, checked
against the block written out by hand under the same random seed."""
import pytest
import torch
import torch.nn.functional as F

from mmvmae.models.backbones.videomae_vit import VideoMAEViT
from mmvmae.models.utils.transformer_block import Block

from .test_backbone import randomise


def block_by_hand(block: Block, x: torch.Tensor, p: float) -> torch.Tensor:
    """``x + drop(proj(attn(norm1 x)))``, then ``x + drop(fc2(drop(gelu(
    fc1(norm2 x)))))``: dropout after each projection, in that order."""
    attn, mlp = block.attn, block.mlp
    b, n, c = x.shape
    bias = torch.cat([attn.q_bias, torch.zeros_like(attn.v_bias),
                      attn.v_bias])
    qkv = F.linear(block.norm1(x), attn.qkv.weight, bias)
    q, k, v = qkv.reshape(b, n, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention(q, k, v)
    x = x + F.dropout(attn.proj(out.transpose(1, 2).reshape(b, n, c)), p)
    hidden = F.dropout(F.gelu(mlp.fc1(block.norm2(x))), p)
    return x + F.dropout(mlp.fc2(hidden), p)


@pytest.mark.parametrize('lean', [False, True])
def test_block_dropout_by_hand(lean):
    block = Block(16, 2, drop_rate=0.3, lean_activations=lean).train()
    randomise(block)
    x = torch.randn(2, 5, 16, requires_grad=True)
    torch.manual_seed(7)
    out = block(x)
    torch.manual_seed(7)
    torch.testing.assert_close(out, block_by_hand(block, x, 0.3))
    assert (out != block_by_hand(block, x, 0.)).any()


def test_stochastic_depth_drops_whole_samples_of_each_branch():
    """drop_path: per sample, a branch adds nothing or its output / keep
    probability. With the attention output zeroed, what is left is the MLP
    branch."""
    torch.manual_seed(0)
    block = Block(16, 2, drop_path_rate=0.5).train()
    randomise(block)
    with torch.no_grad():
        block.attn.proj.weight.zero_()
        block.attn.proj.bias.zero_()
        x = torch.randn(64, 3, 16)
        branch = block.mlp(block.norm2(x))
        out = block(x)
    dropped = [torch.equal(out[i], x[i]) for i in range(64)]
    assert 10 < sum(dropped) < 54
    for i in range(64):
        if not dropped[i]:
            torch.testing.assert_close(out[i], x[i] + branch[i] / 0.5)


def test_position_dropout():
    """``drop_rate`` also drops the embedded tokens before the blocks (the
    blocks' own dropout switched off here)."""
    model = VideoMAEViT(arch=dict(embed_dims=32, depth=1, num_heads=2,
                                  patch_size=8), img_size=16, num_frames=4,
                        drop_rate=0.5).train()
    model.blocks[0].attn.proj_drop.p = model.blocks[0].mlp.drop.p = 0.
    x = torch.randn(2, 3, 4, 16, 16)
    with torch.no_grad():
        first, second = model(x), model(x)
        assert not torch.allclose(first, second)
        model.pos_drop.p = 0.
        torch.testing.assert_close(model(x), model(x))
