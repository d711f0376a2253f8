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
