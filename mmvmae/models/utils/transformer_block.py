"""VideoMAE transformer block: attention with q/v biases, MLP, layer scale."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from .lean_activations import gelu_linear, norm_linear

ATTN_IMPLS = ('sdpa', 'eager')


def check_attn_impl(attn_impl: str) -> None:
    if attn_impl not in ATTN_IMPLS:
        raise ValueError(f'attn_impl must be one of {ATTN_IMPLS}, got '
                         f'{attn_impl!r}')


class Attention(nn.Module):
    """Multi-head self-attention; one ``qkv`` Linear without bias plus
    ``q_bias`` and ``v_bias`` (keys get no bias).

    Args:
        embed_dims: token width ``C``.
        num_heads: heads; ``C`` must be divisible by it.
        qkv_bias: learn ``q_bias`` and ``v_bias``.
        attn_drop: dropout on the attention weights (training only).
        proj_drop: dropout after the output projection.
        attn_impl: ``'sdpa'`` (``F.scaled_dot_product_attention``) or
            ``'eager'`` (explicit softmax; the reference).
    """

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0.,
                 attn_impl: str = 'sdpa') -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible '
                             f'by num_heads ({num_heads})')
        check_attn_impl(attn_impl)
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.scale = self.head_dims**-0.5
        self.attn_impl = attn_impl
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
        else:
            self.q_bias = self.v_bias = None
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def _qkv(self, x: Tensor, norm: Optional[nn.LayerNorm] = None,
             lean: bool = False,
             last: Optional[int] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """q, k, v of ``norm(x)``, each ``(B, N, C)``; q of the ``last``
        rows only when given.

        Training: one product with the fused weight (one weight-gradient
        product in backward); ``lean`` fuses it with ``norm``. Without
        autograd: three products into separate tensors, whose rows the CPU
        attention kernel reads faster than the 3x-strided views of one
        product (about 1.5% of ViT-B inference).
        """
        weight, q_bias, v_bias = self.qkv.weight, self.q_bias, self.v_bias
        rows = slice(None) if last is None else slice(x.shape[1] - last, None)
        if not torch.is_grad_enabled():
            x = x if norm is None else norm(x)
            wq, wk, wv = weight.chunk(3)
            return F.linear(x[:, rows], wq, q_bias), F.linear(x, wk), \
                F.linear(x, wv, v_bias)
        bias = None if q_bias is None else torch.cat(
            (q_bias, torch.zeros_like(v_bias), v_bias))
        if lean and norm is not None:
            qkv = norm_linear(x, norm, weight, bias)
        else:
            qkv = F.linear(x if norm is None else norm(x), weight, bias)
        q, k, v = qkv.unflatten(-1, (3, -1)).unbind(2)
        return q[:, rows], k, v

    def forward(self, x: Tensor, norm: Optional[nn.LayerNorm] = None,
                lean: bool = False, last: Optional[int] = None) -> Tensor:
        """``(B, N, C)`` -> ``(B, N, C)``: attention of ``norm(x)`` (of
        ``x`` without ``norm``); ``lean`` see ``lean_activations``. With
        ``last``, only the last ``last`` tokens query: ``(B, last, C)``."""
        q, k, v = self._qkv(x, norm, lean, last)
        b, c = x.shape[0], x.shape[2]
        q, k, v = (t.view(b, -1, self.num_heads, self.head_dims).transpose(
            1, 2) for t in (q, k, v))
        drop = self.attn_drop if self.training else 0.
        if self.attn_impl == 'sdpa':
            x = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        else:
            attn = (q * self.scale) @ k.transpose(-2, -1)
            attn = F.dropout(attn.softmax(dim=-1), p=drop)
            x = attn @ v
        x = x.transpose(1, 2).reshape(b, -1, c)
        return self.proj_drop(self.proj(x))


class Mlp(nn.Module):
    """``fc1`` -> GELU -> dropout -> ``fc2`` -> dropout."""

    def __init__(self, in_dims: int, hidden_dims: int,
                 drop: float = 0.) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, in_dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor, norm: Optional[nn.LayerNorm] = None,
                lean: bool = False) -> Tensor:
        """MLP of ``norm(x)`` (of ``x`` without ``norm``); ``lean`` (with
        autograd) keeps fewer activations, see ``lean_activations``."""
        lean = lean and torch.is_grad_enabled()
        if lean and norm is not None:
            x = norm_linear(x, norm, self.fc1.weight, self.fc1.bias)
        else:
            x = self.fc1(x if norm is None else norm(x))
        if lean and not (self.training and self.drop.p > 0):
            x = gelu_linear(x, self.fc2.weight, self.fc2.bias)
        else:
            x = self.fc2(self.drop(self.act(x)))
        return self.drop(x)


class Block(nn.Module):
    """Pre-norm transformer block with optional layer scale.

    ``x + drop_path(gamma_1 * attn(norm1(x)))``, then the same with the MLP.
    ``gamma_1`` / ``gamma_2`` exist only when ``layer_scale_init_value > 0``.
    ``lean_activations`` keeps fewer activations for the backward pass (the
    same products; see ``lean_activations.py``).
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 mlp_ratio: float = 4., qkv_bias: bool = True,
                 drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 0., norm_eps: float = 1e-6,
                 attn_impl: str = 'sdpa',
                 lean_activations: bool = False) -> None:
        super().__init__()
        self.lean_activations = lean_activations
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = Attention(embed_dims, num_heads, qkv_bias=qkv_bias,
                              attn_drop=attn_drop_rate, proj_drop=drop_rate,
                              attn_impl=attn_impl)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 \
            else nn.Identity()
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), drop=drop_rate)
        self.gamma_1: Optional[nn.Parameter] = None
        self.gamma_2: Optional[nn.Parameter] = None
        if layer_scale_init_value > 0:
            self.gamma_1 = nn.Parameter(
                torch.full((embed_dims, ), float(layer_scale_init_value)))
            self.gamma_2 = nn.Parameter(
                torch.full((embed_dims, ), float(layer_scale_init_value)))

    def forward(self, x: Tensor, last: Optional[int] = None) -> Tensor:
        """``(B, N, C)`` -> ``(B, N, C)``; with ``last``, the outputs of the
        last ``last`` tokens only, ``(B, last, C)`` (all tokens are still
        keys and values; the other rows are not computed)."""
        lean = self.lean_activations
        y = self.attn(x, self.norm1, lean, last)
        if last is not None:
            x = x[:, x.shape[1] - last:]  # not -last: last may be 0
        if self.gamma_1 is not None:
            y = self.gamma_1 * y
        x = x + self.drop_path(y)
        y = self.mlp(x, self.norm2, lean)
        if self.gamma_2 is not None:
            y = self.gamma_2 * y
        return x + self.drop_path(y)


LINEAR_INITS = ('trunc_normal', 'xavier_uniform')


def check_linear_init(linear_init: str) -> None:
    if linear_init not in LINEAR_INITS:
        raise ValueError(f'linear_init must be one of {LINEAR_INITS}, got '
                         f'{linear_init!r}')


def init_transformer_weights(module: nn.Module,
                             linear_init: str = 'trunc_normal') -> None:
    """Linear weights trunc_normal(0.02) (the fine-tuning models) or
    xavier_uniform (the VideoMAE pretraining encoder and decoder), zero
    biases, LayerNorm 1/0.

    Use with ``model.apply`` (``functools.partial`` for ``linear_init``).
    """
    if isinstance(module, nn.Linear):
        if linear_init == 'xavier_uniform':
            nn.init.xavier_uniform_(module.weight)
        else:
            nn.init.trunc_normal_(module.weight, std=.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


__all__ = ['Attention', 'Mlp', 'Block', 'init_transformer_weights',
           'check_attn_impl', 'ATTN_IMPLS', 'LINEAR_INITS',
           'check_linear_init']
