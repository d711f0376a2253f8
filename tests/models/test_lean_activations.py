"""``lean_activations``: the plain block's results from fewer kept tensors."""
import pytest
import torch
import torch.nn.functional as F

from mmvmae.models.utils import Block
from mmvmae.models.utils.lean_activations import gelu_linear, norm_linear


def grads(fn, tensors):
    out = fn()
    return [out.detach()] + list(torch.autograd.grad(
        out.sin().sum(), [t for t in tensors if t.requires_grad]))


@pytest.mark.parametrize('affine', [True, False])
@pytest.mark.parametrize('frozen', [None, 'x', 'weight', 'norm'])
def test_norm_linear_equals_layer_norm_then_linear(affine, frozen):
    torch.manual_seed(0)
    norm = torch.nn.LayerNorm(8, eps=1e-5, elementwise_affine=affine).double()
    if affine:  # non-trivial affine, so a swapped weight / bias shows
        torch.nn.init.normal_(norm.weight)
        torch.nn.init.normal_(norm.bias)
    x = torch.randn(2, 5, 8, dtype=torch.double, requires_grad=True)
    w = torch.randn(12, 8, dtype=torch.double, requires_grad=True)
    b = torch.randn(12, dtype=torch.double, requires_grad=True)
    frozen_tensors = dict(x=[x], weight=[w, b], norm=list(norm.parameters()))
    for t in frozen_tensors.get(frozen, []):
        t.requires_grad_(False)
    tensors = [x, w, b, *norm.parameters()]
    expected = grads(lambda: F.linear(norm(x), w, b), tensors)
    got = grads(lambda: norm_linear(x, norm, w, b), tensors)
    assert len(got) == len(expected) > 1
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e)


@pytest.mark.parametrize('with_bias', [True, False])
def test_gelu_linear_equals_gelu_then_linear(with_bias):
    torch.manual_seed(0)
    h = torch.randn(2, 5, 12, dtype=torch.double, requires_grad=True)
    w = torch.randn(8, 12, dtype=torch.double, requires_grad=True)
    b = torch.randn(8, dtype=torch.double, requires_grad=True) \
        if with_bias else None
    tensors = [h, w] + ([b] if with_bias else [])
    expected = grads(lambda: F.linear(F.gelu(h), w, b), tensors)
    got = grads(lambda: gelu_linear(h, w, b), tensors)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e)


def saved_bytes(block, x):
    """Bytes autograd keeps for the backward of one block call."""
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        block(x)
    return sum(seen.values())


def test_lean_block_keeps_less_for_the_backward():
    torch.manual_seed(0)
    plain = Block(64, 4).train()
    lean = Block(64, 4, lean_activations=True).train()
    lean.load_state_dict(plain.state_dict())
    x = torch.randn(2, 256, 64, requires_grad=True)
    weights = sum(p.numel() * 4 for p in plain.parameters())
    kept_plain = saved_bytes(plain, x) - weights
    kept_lean = saved_bytes(lean, x) - weights
    # per token: 16 rows of 64 floats (x, norm1(x), qkv, attention output,
    # x + attn, norm2, fc1 and GELU outputs) against 10 (no LayerNorm or
    # GELU outputs)
    row = 2 * 256 * 64 * 4
    assert kept_plain >= 16 * row
    assert kept_lean <= 10.5 * row
    # and the same results
    for block in (plain, lean):
        block.zero_grad()
        x.grad = None
        block(x).square().sum().backward()
        block.result = [x.grad] + [p.grad for p in block.parameters()]
    for a, b in zip(lean.result, plain.result):
        torch.testing.assert_close(a, b)


def test_lean_block_under_bf16_autocast():
    torch.manual_seed(0)
    plain = Block(64, 4).train()
    lean = Block(64, 4, lean_activations=True).train()
    lean.load_state_dict(plain.state_dict())
    x = torch.randn(2, 20, 64)
    for block in (plain, lean):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = block(x)
        out.float().square().sum().backward()
        block.result = [out.float()] + [p.grad for p in block.parameters()]
    assert all(g.dtype == torch.float32 for g in lean.result[1:])
    for a, b in zip(lean.result, plain.result):
        torch.testing.assert_close(a, b, rtol=2e-2, atol=2e-2)


def test_lean_block_with_mlp_dropout_uses_the_same_draws():
    """With dropout between GELU and fc2 the lean MLP keeps GELU's output
    (dropout needs it) and must still equal the plain block."""
    plain = Block(32, 2, drop_rate=0.3).train()
    lean = Block(32, 2, drop_rate=0.3, lean_activations=True).train()
    lean.load_state_dict(plain.state_dict())
    x = torch.randn(2, 6, 32)
    outs = []
    for block in (plain, lean):
        torch.manual_seed(1)
        outs.append(block(x))
    torch.testing.assert_close(outs[0], outs[1])
    with torch.no_grad():  # inference: the plain path, lean or not
        torch.testing.assert_close(lean.eval()(x), plain.eval()(x))
