"""Per-block activation checkpointing: full or selective.

``with_cp=True`` (or 'full') keeps only each block's input and re-runs the
whole block in the backward pass (about one extra forward). ``'selective'``
keeps the outputs of the matrix products and of attention and re-runs only
the cheap ops between them (LayerNorm, GELU, residual adds, layout copies):
about a third less activation memory for a few percent more time.
"""
from functools import partial
from typing import Optional, Union

import torch
import torch.utils.checkpoint as cp
from torch import Tensor, nn

CP_MODES = (False, True, 'full', 'selective')

_aten = torch.ops.aten
_SAVED_OPS = {
    _aten.mm.default, _aten.addmm.default, _aten.bmm.default,
    _aten.baddbmm.default, _aten.convolution.default
}
for _name in ('_scaled_dot_product_flash_attention_for_cpu',
              '_scaled_dot_product_flash_attention',
              '_scaled_dot_product_efficient_attention',
              '_scaled_dot_product_cudnn_attention'):
    if hasattr(_aten, _name):
        _SAVED_OPS.add(getattr(_aten, _name).default)


def check_cp_mode(with_cp: Union[bool, str]) -> None:
    if with_cp not in CP_MODES or (isinstance(with_cp, int)
                                   and not isinstance(with_cp, bool)):
        raise ValueError(f'with_cp must be one of {CP_MODES}, got '
                         f'{with_cp!r}')


def _policy(ctx, op, *args, **kwargs) -> cp.CheckpointPolicy:
    if op in _SAVED_OPS:
        return cp.CheckpointPolicy.MUST_SAVE
    return cp.CheckpointPolicy.PREFER_RECOMPUTE


def run_blocks(blocks: nn.ModuleList, x: Tensor,
               with_cp: Union[bool, str] = False,
               last: Optional[int] = None) -> Tensor:
    """Apply ``blocks`` in order, checkpointed per ``with_cp`` when
    gradients are on. ``(B, N, C)`` -> ``(B, N, C)``; with ``last``, the
    final block computes only the last ``last`` tokens: ``(B, last, C)``.
    """
    lasts = [None] * (len(blocks) - 1) + [last]
    if not with_cp or not torch.is_grad_enabled():
        for block, rows in zip(blocks, lasts):
            x = block(x, rows)
        return x
    kwargs = dict(use_reentrant=False)
    if with_cp == 'selective':
        kwargs['context_fn'] = partial(
            cp.create_selective_checkpoint_contexts, _policy)
    for block, rows in zip(blocks, lasts):
        x = cp.checkpoint(block, x, rows, **kwargs)
    return x


__all__ = ['CP_MODES', 'check_cp_mode', 'run_blocks']
