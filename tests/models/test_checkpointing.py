"""run_blocks' checkpointing modes recompute what they say in the backward
pass (their equal results are checked in test_fast_paths.py)."""
from collections import Counter

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from mmvmae.models.utils import Block, run_blocks

_aten = torch.ops.aten
PRODUCTS = {_aten.mm.default, _aten.addmm.default}
FORWARD_ONLY = {_aten.gelu.default, _aten.native_layer_norm.default}


class OpCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func] += 1
        return func(*args, **(kwargs or {}))


def backward_ops(with_cp):
    """aten ops run by the backward pass of two blocks."""
    torch.manual_seed(0)
    blocks = nn.ModuleList(Block(32, 2) for _ in range(2)).train()
    x = torch.randn(2, 16, 32, requires_grad=True)
    out = run_blocks(blocks, x, with_cp)
    with OpCounter() as counter:
        out.sum().backward()
    return counter.ops


@pytest.mark.parametrize('with_cp', [True, 'full', 'selective'])
def test_backward_recomputes_per_mode(with_cp):
    plain, ops = backward_ops(False), backward_ops(with_cp)
    count = lambda ops, kinds: sum(ops[k] for k in kinds)  # noqa: E731
    # without checkpointing, the backward runs no forward-only op
    assert count(plain, FORWARD_ONLY) == 0
    # both modes re-run the cheap ops: 2 LayerNorms + 1 GELU per block
    assert count(ops, FORWARD_ONLY) == 6
    extra = count(ops, PRODUCTS) - count(plain, PRODUCTS)
    if with_cp == 'selective':
        assert extra == 0  # the products' outputs were kept
    else:
        # qkv, proj and fc1 of each block again (torch stops re-running a
        # block once the tensors its backward needs are back: not fc2)
        assert extra >= 2 * 3


class _BaddbmmBlock(nn.Module):
    """A block whose product is a ``baddbmm`` (as attention with a bias
    term can be), its output needed by the GELU's backward."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(2, 8, 8) * 0.1)
        self.bias = nn.Parameter(torch.zeros(2, 1, 8))

    def forward(self, x, rows=None):
        return nn.functional.gelu(torch.baddbmm(self.bias, x, self.weight))


def test_selective_keeps_baddbmm_outputs():
    """'selective' keeps the outputs of every product, ``baddbmm`` too: its
    backward does not re-run it, as 'full' does."""
    def ops(with_cp):
        torch.manual_seed(0)
        blocks = nn.ModuleList([_BaddbmmBlock()])
        x = torch.randn(2, 4, 8, requires_grad=True)
        out = run_blocks(blocks, x, with_cp)
        with OpCounter() as counter:
            out.sum().backward()
        return counter.ops

    baddbmm = _aten.baddbmm.default
    assert ops(False)[baddbmm] == 0
    assert ops('full')[baddbmm] == 1  # re-run for the GELU's backward
    assert ops('selective')[baddbmm] == 0  # kept


@pytest.mark.parametrize('with_cp', [1, 0, 'Selective', 'partial', None])
def test_invalid_checkpointing_modes_are_refused(with_cp):
    """Only False, True, 'full' and 'selective': an integer (1 == True) or a
    misspelt mode is an error naming the valid ones, not silently on/off."""
    from mmvmae.models.backbones.videomae_vit import VideoMAEViT
    with pytest.raises(ValueError, match=r'with_cp must be one of .*got'):
        VideoMAEViT(arch=dict(embed_dims=32, depth=1, num_heads=2),
                    img_size=32, num_frames=4, with_cp=with_cp)


@pytest.mark.parametrize('with_cp', [False, True, 'full', 'selective'])
def test_valid_checkpointing_modes_are_accepted(with_cp):
    from mmvmae.models.utils import check_cp_mode
    check_cp_mode(with_cp)
