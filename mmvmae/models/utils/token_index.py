"""Static-shape token selection: the kept count is a Python int, so the
gather has a fixed shape (no boolean indexing, no graph break under
``torch.compile``) and the index is built once, on the device."""
from typing import Tuple

import torch
from torch import Tensor


def count_kept(select: Tensor, what: str) -> int:
    """The number of True entries per row of ``select (B, N)`` bool, checked
    to be equal in every row. Reads one value back from the device."""
    if select.dtype != torch.bool or select.ndim != 2:
        raise ValueError(f'masks must be (B, N) bool tensors, got '
                         f'{select.dtype} {tuple(select.shape)}')
    counts = select.sum(dim=1).tolist()
    if len(set(counts)) > 1:
        raise ValueError(f'every sample must have the same number of '
                         f'{what}, got {counts}')
    return counts[0] if counts else 0


def kept_index(select: Tensor, count: int) -> Tensor:
    """Ascending positions of the True entries of ``select (B, N)`` as
    ``(B, count)``; ``count`` must be the per-row count of True."""
    # a stable sort puts the True rows first, each group in position order
    order = torch.argsort((~select).to(torch.uint8), dim=1, stable=True)
    return order[:, :count]


def take_tokens(x: Tensor, index: Tensor) -> Tensor:
    """``x (B, N, C)`` or a table ``(1, N, C)`` at ``index (B, K)`` ->
    ``(B, K, C)``."""
    if x.shape[0] == 1:
        return x[0][index]
    return x.gather(1, index[..., None].expand(-1, -1, x.shape[-1]))


def scored_last(index: Tensor, scored: Tensor) -> Tuple[Tensor, Tensor]:
    """``index (B, M)`` and ``scored (B, M)`` bool reordered so that, in
    every row, the scored entries come behind the others (each group keeps
    its order)."""
    order = torch.argsort(scored.to(torch.uint8), dim=1, stable=True)
    return index.gather(1, order), scored.gather(1, order)


__all__ = ['count_kept', 'kept_index', 'scored_last', 'take_tokens']
