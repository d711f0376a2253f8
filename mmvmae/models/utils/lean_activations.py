"""Block pieces that keep fewer activations for the backward pass.

Autograd keeps, per transformer block, the input and the output of both
LayerNorms and the input and the output of GELU: 16 ``C``-wide rows per
token (C = width, MLP hidden 4C). Two fused functions keep 10:

- ``norm_linear(x, norm, weight, bias)`` = ``F.linear(norm(x), weight,
  bias)`` keeps only ``x``, not ``norm(x)``; the backward pass runs the
  LayerNorm again (its output for the weight gradient, its statistics for
  its own backward).
- ``gelu_linear(h, weight, bias)`` = ``F.linear(F.gelu(h), weight, bias)``:
  keeps ``h`` only and recomputes GELU in the backward pass (one
  elementwise pass, no extra matrix product).

Both run the same matrix products as the plain path; the extra work is
one GELU and two LayerNorms per block in the backward pass. Under
autocast the products run in the autocast dtype as they would in
``F.linear``; the LayerNorm statistics stay in the input dtype.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_aten = torch.ops.aten


def _rows(t: Tensor) -> Tensor:
    return t.reshape(-1, t.shape[-1])


class _NormLinear(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: Tensor, norm_weight: Optional[Tensor],
                norm_bias: Optional[Tensor], eps: float, weight: Tensor,
                bias: Optional[Tensor]) -> Tensor:
        ctx.eps = eps
        ctx.save_for_backward(x, norm_weight, norm_bias, weight)
        y = F.layer_norm(x, x.shape[-1:], norm_weight, norm_bias, eps)
        return F.linear(y, weight, bias)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, norm_weight, norm_bias, weight = ctx.saved_tensors
        need_x, need_nw, need_nb, _, need_w, need_b = ctx.needs_input_grad
        g, x = _rows(grad_out), _rows(x)
        # the LayerNorm again: its output for the weight gradient, its
        # statistics for its own backward
        y, mean, rstd = torch.native_layer_norm(x, x.shape[-1:], norm_weight,
                                                norm_bias, ctx.eps)
        grads = [None] * 6
        if need_w:
            grads[4] = (g.t() @ y.to(g.dtype)).to(weight.dtype)
        if need_b:
            grads[5] = g.sum(0).to(weight.dtype)
        if need_x or need_nw or need_nb:
            grad_y = (g @ weight.to(g.dtype)).to(y.dtype)
            grad_x, grads[1], grads[2] = _aten.native_layer_norm_backward(
                grad_y, x, x.shape[-1:], mean, rstd, norm_weight, norm_bias,
                (need_x, need_nw and norm_weight is not None, need_nb
                 and norm_bias is not None))
            if need_x:
                grads[0] = grad_x.view(grad_out.shape[:-1] + x.shape[-1:])
        return tuple(grads)


class _GeluLinear(torch.autograd.Function):

    @staticmethod
    def forward(ctx, h: Tensor, weight: Tensor,
                bias: Optional[Tensor]) -> Tensor:
        ctx.save_for_backward(h, weight, bias)
        return F.linear(F.gelu(h), weight, bias)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        h, weight, bias = ctx.saved_tensors
        need_h, need_w, need_b = ctx.needs_input_grad
        g, h_rows = _rows(grad_out), _rows(h)
        grads = [None] * 3
        if need_h:
            grad_act = (g @ weight.to(g.dtype)).to(h.dtype)
            grads[0] = _aten.gelu_backward(grad_act, h_rows).view_as(h)
        if need_w:
            act = F.gelu(h_rows).to(g.dtype)
            grads[1] = (g.t() @ act).to(weight.dtype)
        if need_b and bias is not None:
            grads[2] = g.sum(0).to(bias.dtype)
        return tuple(grads)


def norm_linear(x: Tensor, norm: nn.LayerNorm, weight: Tensor,
                bias: Optional[Tensor]) -> Tensor:
    """``F.linear(norm(x), weight, bias)`` keeping only ``x`` (not
    ``norm(x)``) for the backward pass. ``norm`` normalises the last dim."""
    if len(norm.normalized_shape) != 1:
        raise ValueError('norm_linear needs a LayerNorm over the last dim')
    return _NormLinear.apply(x, norm.weight, norm.bias, norm.eps, weight,
                             bias)


def gelu_linear(h: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """``F.linear(F.gelu(h), weight, bias)`` keeping only ``h`` for the
    backward pass (GELU is recomputed there)."""
    return _GeluLinear.apply(h, weight, bias)


__all__ = ['norm_linear', 'gelu_linear']
