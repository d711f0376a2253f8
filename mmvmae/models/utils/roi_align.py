"""RoIAlign with mmcv's semantics, in pure PyTorch when mmcv.ops is missing.

mmcv-lite (the pure-Python mmcv wheel) has no ``mmcv.ops``; the full build
has a compiled ``RoIAlign``. :class:`RoIAlign` picks the compiled one once, at
import, when it is available, and otherwise :func:`roi_align_pytorch`, which
reproduces ``mmcv.ops.roi_align(..., pool_mode='avg')`` exactly:

- a box ``(x1, y1, x2, y2)`` in input pixels is scaled by ``spatial_scale``
  and, with ``aligned=True``, shifted by -0.5 so that pixel centres sit at
  integer coordinates;
- each of the ``out_h x out_w`` bins averages ``gh x gw`` bilinear samples at
  the centres of a regular sub-grid; ``sampling_ratio=0`` means
  ``gh = ceil(roi_h / out_h)`` (adaptive), per box;
- a sample with ``y < -1`` or ``y > H`` (same for x) counts as 0; otherwise
  coordinates are clamped to ``[0, H - 1]`` before interpolation.

Because the sample grid of a bin is a product of its y and x positions, the
average is separable: ``out[r, c] = Ay[r] @ feat[b_r, c] @ Ax[r].T`` with
``Ay (R, out_h, H)`` and ``Ax (R, out_w, W)`` holding the summed bilinear
weights. That turns the whole operation into two batched matrix products.
"""
from typing import Tuple, Union

import torch
from torch import Tensor, nn

try:  # the compiled op of the full mmcv build
    from mmcv.ops import roi_align as _mmcv_roi_align
except (ImportError, OSError):  # mmcv-lite, or an unloadable build
    _mmcv_roi_align = None

HAS_MMCV_OPS = _mmcv_roi_align is not None


def _axis_weights(start: Tensor, length: Tensor, out_size: int, size: int,
                  sampling_ratio: int) -> Tensor:
    """Summed-and-averaged bilinear weights along one axis.

    Args:
        start, length: ``(R,)`` box start and extent in feature coordinates.
        out_size: bins along this axis; size: feature length along it.

    Returns:
        ``(R, out_size, size)``: row ``p`` averages the samples of bin ``p``.
    """
    num_rois = start.shape[0]
    bin_size = length / out_size
    if sampling_ratio > 0:
        grid = torch.full_like(length, sampling_ratio).long()
    else:
        grid = torch.ceil(length / out_size).long().clamp(min=0)
    max_grid = max(int(grid.max()) if num_rois else 0, 1)

    p = torch.arange(out_size, dtype=start.dtype, device=start.device)
    g = torch.arange(max_grid, dtype=start.dtype, device=start.device)
    grid_f = grid.to(start.dtype).clamp(min=1)[:, None, None]
    # sample coordinates (R, out_size, max_grid)
    coord = (start[:, None, None] + p[None, :, None] * bin_size[:, None, None]
             + (g[None, None, :] + 0.5) * bin_size[:, None, None] / grid_f)
    valid = g[None, None, :] < grid[:, None, None]
    valid = valid & (coord >= -1.0) & (coord <= size)

    coord = coord.clamp(min=0)
    low = coord.floor().long()
    at_edge = low >= size - 1
    low = torch.where(at_edge, torch.full_like(low, size - 1), low)
    coord = torch.where(at_edge, low.to(coord.dtype), coord)
    high = torch.where(at_edge, low, low + 1)
    frac = coord - low.to(coord.dtype)

    weights = start.new_zeros(num_rois, out_size, max_grid, size)
    valid_f = valid.to(start.dtype)
    weights.scatter_add_(-1, low[..., None], ((1 - frac) * valid_f)[..., None])
    weights.scatter_add_(-1, high[..., None], (frac * valid_f)[..., None])
    return weights.sum(2) / grid_f


def roi_align_pytorch(feat: Tensor,
                      rois: Tensor,
                      output_size: Union[int, Tuple[int, int]],
                      spatial_scale: float = 1.0,
                      sampling_ratio: int = 0,
                      aligned: bool = True) -> Tensor:
    """RoIAlign (average pooling) in PyTorch, mmcv's semantics.

    Args:
        feat: ``(B, C, H, W)`` feature map.
        rois: ``(R, 5)`` rows ``(batch_index, x1, y1, x2, y2)`` in input
            pixels (scaled by ``spatial_scale`` onto ``feat``).
        output_size: ``out`` or ``(out_h, out_w)``.
        spatial_scale: feature stride inverse, e.g. 1/16.
        sampling_ratio: samples per bin and axis; 0 = ``ceil(roi / out)``.
        aligned: shift boxes by -0.5 pixel (pixel centres at integers).

    Returns:
        ``(R, C, out_h, out_w)``.
    """
    if feat.dim() != 4 or rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError('roi_align expects feat (B, C, H, W) and rois '
                         f'(R, 5), got {tuple(feat.shape)} and '
                         f'{tuple(rois.shape)}')
    out_h, out_w = ((output_size, output_size)
                    if isinstance(output_size, int) else output_size)
    batch, channels, height, width = feat.shape
    rois = rois.to(feat.dtype).detach()
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (rois[:, i] * spatial_scale - offset
                      for i in (1, 2, 3, 4))
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:  # mmcv forces at least 1 pixel in the legacy mode
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    weight_y = _axis_weights(y1, roi_h, out_h, height, sampling_ratio)
    weight_x = _axis_weights(x1, roi_w, out_w, width, sampling_ratio)

    # Place each box's y-weights in the block of its image, so one matmul
    # covers every box without gathering a feature map per box.
    num_rois = rois.shape[0]
    batch_index = rois[:, 0].long()
    if num_rois and (batch_index.min() < 0 or batch_index.max() >= batch):
        raise ValueError(f'rois[:, 0] must be batch indices in [0, {batch})')
    block = feat.new_zeros(num_rois, out_h, batch, height)
    block[torch.arange(num_rois), :, batch_index] = weight_y
    rows = block.reshape(num_rois * out_h, batch * height) @ feat.permute(
        0, 2, 1, 3).reshape(batch * height, channels * width)
    rows = rows.view(num_rois, out_h, channels, width)
    return torch.einsum('rpcw,rqw->rcpq', rows, weight_x)


class RoIAlign(nn.Module):
    """RoIAlign over ``(B, C, H, W)``: mmcv's compiled op when present.

    Args:
        output_size: bins per side (``int`` or ``(h, w)``).
        spatial_scale: 1 / feature stride, e.g. 1/16.
        sampling_ratio: samples per bin and axis; 0 = adaptive.
        aligned: half-pixel alignment (``aligned=True`` of mmcv/Detectron2).
        use_mmcv: ``None`` = use mmcv.ops when installed; False = always
            PyTorch; True = require mmcv.ops.
    """

    def __init__(self,
                 output_size: Union[int, Tuple[int, int]] = 8,
                 spatial_scale: float = 1 / 16,
                 sampling_ratio: int = 0,
                 aligned: bool = True,
                 use_mmcv: Union[bool, None] = None) -> None:
        super().__init__()
        if use_mmcv and not HAS_MMCV_OPS:
            raise ImportError('RoIAlign(use_mmcv=True) needs the full mmcv '
                              'build (mmcv.ops); mmcv-lite has none')
        self.output_size = ((output_size, output_size) if isinstance(
            output_size, int) else tuple(output_size))
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = aligned
        self.use_mmcv = HAS_MMCV_OPS if use_mmcv is None else use_mmcv

    def forward(self, feat: Tensor, rois: Tensor) -> Tensor:
        """``feat (B, C, H, W)``, ``rois (R, 5)`` -> ``(R, C, oh, ow)``."""
        if self.use_mmcv:
            return _mmcv_roi_align(feat, rois.to(feat.dtype),
                                   self.output_size, self.spatial_scale,
                                   self.sampling_ratio, 'avg', self.aligned)
        return roi_align_pytorch(feat, rois, self.output_size,
                                 self.spatial_scale, self.sampling_ratio,
                                 self.aligned)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, spatial_scale='
                f'{self.spatial_scale}, sampling_ratio={self.sampling_ratio}, '
                f'aligned={self.aligned}, use_mmcv={self.use_mmcv}')
