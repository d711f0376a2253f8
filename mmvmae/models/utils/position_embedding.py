"""Fixed sinusoid position tables and their interpolation to other grids."""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def sinusoid_position_table(num_tokens: int, dim: int) -> Tensor:
    """1-D sinusoid table over the flattened token index.

    ``angle[pos, j] = pos / 10000 ** (2 * (j // 2) / dim)``; ``sin`` on even
    ``j``, ``cos`` on odd ``j``.

    Returns:
        Tensor: ``(1, num_tokens, dim)``, float32.
    """
    if num_tokens <= 0 or dim <= 0:
        raise ValueError(f'num_tokens and dim must be positive, got '
                         f'num_tokens={num_tokens}, dim={dim}')
    # float64 keeps large positions (1568 tokens) accurate before the cast
    pos = torch.arange(num_tokens, dtype=torch.float64)[:, None]
    j = torch.arange(dim)
    freq = torch.pow(10000.0, 2 * torch.div(j, 2, rounding_mode='floor')
                     .double() / dim)
    angle = pos / freq
    table = torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.float()[None]


def interpolate_position_table(table: Tensor, src_grid: Sequence[int],
                               dst_grid: Sequence[int]) -> Tensor:
    """Resize a ``(1, t*h*w, C)`` table from ``src_grid`` to ``dst_grid``.

    Bicubic in space for every temporal slot, then linear in time when the
    number of slots differs (both ``align_corners=False``).

    Args:
        table: ``(1, N, C)`` with ``N = prod(src_grid)``, tokens in
            ``(t, h, w)`` order.
        src_grid: ``(t, h, w)`` of ``table``.
        dst_grid: ``(t', h', w')`` wanted.

    Returns:
        Tensor: ``(1, t'*h'*w', C)``.
    """
    src_t, src_h, src_w = (int(s) for s in src_grid)
    dst_t, dst_h, dst_w = (int(s) for s in dst_grid)
    if table.ndim != 3 or table.shape[0] != 1 or \
            table.shape[1] != src_t * src_h * src_w:
        raise ValueError(f'table must be (1, {src_t * src_h * src_w}, C) for '
                         f'src_grid {tuple(src_grid)}, got '
                         f'{tuple(table.shape)}')
    if (src_t, src_h, src_w) == (dst_t, dst_h, dst_w):
        return table
    dim = table.shape[-1]
    x = table.reshape(src_t, src_h, src_w, dim).permute(0, 3, 1, 2)
    if (src_h, src_w) != (dst_h, dst_w):
        x = F.interpolate(x, size=(dst_h, dst_w), mode='bicubic',
                          align_corners=False)
    if src_t != dst_t:
        # (t, C, h, w) -> (h*w, C, t): one 1-D linear resize per position
        x = x.flatten(2).permute(2, 1, 0)
        x = F.interpolate(x, size=dst_t, mode='linear', align_corners=False)
        x = x.permute(2, 1, 0).reshape(dst_t, dim, dst_h, dst_w)
    return x.permute(0, 2, 3, 1).reshape(1, -1, dim)
