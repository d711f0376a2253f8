"""Cutting videos into tubelet tokens and back, plus the tubelet embedding."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_divisible(video: Tensor, patch: int, tubelet: int) -> None:
    if video.ndim != 5:
        raise ValueError(f'video must be (B, C, T, H, W), got '
                         f'{tuple(video.shape)}')
    _, _, t, h, w = video.shape
    if t % tubelet or h % patch or w % patch:
        raise ValueError(f'video (T, H, W) = {(t, h, w)} must be divisible '
                         f'by (tubelet, patch, patch) = '
                         f'{(tubelet, patch, patch)}')


def patchify(video: Tensor, patch: int, tubelet: int) -> Tensor:
    """``(B, C, T, H, W)`` -> ``(B, N, tubelet*patch*patch, C)``.

    Tokens in ``(t, h, w)`` order, the pixels of a token in ``(t, h, w)``
    order, channel last.
    """
    _check_divisible(video, patch, tubelet)
    b, c, t, h, w = video.shape
    x = video.reshape(b, c, t // tubelet, tubelet, h // patch, patch,
                      w // patch, patch)
    # (B, T', H', W', tubelet, p, p, C)
    x = x.permute(0, 2, 4, 6, 3, 5, 7, 1)
    return x.reshape(b, -1, tubelet * patch * patch, c)


def gather_tubelets(video: Tensor, index: Tensor, patch: int,
                    tubelet: int, channel_last: bool = False) -> Tensor:
    """The pixels of the tokens at ``index (B, K)`` of ``video (B, C, T, H,
    W)``, one copy of only those tokens: ``(B, K, C, tubelet, patch,
    patch)`` (the layout of a Conv3d weight) or, with ``channel_last``,
    ``(B, K, tubelet, patch, patch, C)`` (the layout of :func:`patchify`)."""
    _check_divisible(video, patch, tubelet)
    b, c, t, h, w = video.shape
    if index.ndim != 2 or index.shape[0] != b:
        raise ValueError(f'index must be (B={b}, K), got '
                         f'{tuple(index.shape)}')
    gt, gh, gw = t // tubelet, h // patch, w // patch
    rows = torch.arange(b, device=video.device)[:, None]
    ti, hi, wi = index // (gh * gw), index // gw % gh, index % gw
    # advanced indices on separated dims go first, then the sliced dims
    if channel_last:  # splitting the dims of the permuted view is free
        cells = video.permute(0, 2, 3, 4, 1).reshape(
            b, gt, tubelet, gh, patch, gw, patch, c)
        return cells[rows, ti, :, hi, :, wi, :, :]
    cells = video.reshape(b, c, gt, tubelet, gh, patch, gw, patch)
    return cells[rows, :, ti, :, hi, :, wi, :]


def unpatchify(patches: Tensor, patch: int, tubelet: int,
               grid: Sequence[int]) -> Tensor:
    """Inverse of :func:`patchify`.

    Args:
        patches: ``(B, N, tubelet*patch*patch, C)``.
        grid: token grid ``(T', H', W')`` with ``N = T'*H'*W'``.

    Returns:
        Tensor: ``(B, C, T'*tubelet, H'*patch, W'*patch)``.
    """
    gt, gh, gw = (int(g) for g in grid)
    if patches.ndim != 4 or patches.shape[1] != gt * gh * gw or \
            patches.shape[2] != tubelet * patch * patch:
        raise ValueError(
            f'patches must be (B, {gt * gh * gw}, {tubelet * patch * patch}, '
            f'C) for grid {(gt, gh, gw)}, got {tuple(patches.shape)}')
    b, _, _, c = patches.shape
    x = patches.reshape(b, gt, gh, gw, tubelet, patch, patch, c)
    x = x.permute(0, 7, 1, 4, 2, 5, 3, 6)
    return x.reshape(b, c, gt * tubelet, gh * patch, gw * patch)


class PatchEmbed3d(nn.Module):
    """Tubelet embedding: a Conv3d with kernel = stride = (tubelet, p, p).

    ``forward``: ``(B, C, T, H, W)`` -> tokens ``(B, N, D)`` and the token
    grid ``(T', H', W')``.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int,
                 tubelet_size: int) -> None:
        super().__init__()
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_channels, embed_dims, kernel, stride=kernel)

    def forward(self, x: Tensor, index: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tuple[int, int, int]]:
        """``index (B, K)``: embed only those tokens (a gather of their
        pixels and one matrix product, instead of the conv over all)."""
        kt, kh, kw = self.proj.kernel_size
        _check_divisible(x, kh, kt)
        if index is not None:
            return self._embed_selected(x, index)
        x = self.proj(x)
        grid = tuple(x.shape[2:])
        # contiguous (B, N, C): a (B, C, N)-strided view would pass its
        # layout on to every residual add, and LayerNorm would copy it back
        # in each block (7% of the ViT-B inference time on CPU)
        return x.flatten(2).transpose(1, 2).contiguous(), grid

    def _embed_selected(self, x: Tensor, index: Tensor
                        ) -> Tuple[Tensor, Tuple[int, int, int]]:
        kt, kh, kw = self.proj.kernel_size
        _, _, t, h, w = x.shape
        grid = (t // kt, h // kh, w // kw)
        pixels = gather_tubelets(x, index, kh, kt).flatten(2)
        return F.linear(pixels, self.proj.weight.flatten(1),
                        self.proj.bias), grid

    def reset_parameters(self) -> None:
        """Initialise like a Linear on the flattened kernel (not named
        ``init_weights``: mmengine would re-run it over loaded weights)."""
        w = self.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        if self.proj.bias is not None:
            nn.init.zeros_(self.proj.bias)


__all__ = ['patchify', 'unpatchify', 'gather_tubelets', 'PatchEmbed3d']
