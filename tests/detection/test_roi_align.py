"""The PyTorch RoIAlign against an explicit-loop bilinear reference."""
import math

import pytest
import torch

from mmvmae.models.utils.roi_align import (HAS_MMCV_OPS, RoIAlign,
                                           roi_align_pytorch)


def _bilinear(img: torch.Tensor, y: float, x: float) -> torch.Tensor:
    """One sample of ``img (C, H, W)`` with mmcv's border rules."""
    height, width = img.shape[1:]
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return torch.zeros(img.shape[0], dtype=img.dtype)
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * img[:, y_low, x_low] + hy * lx * img[:, y_low, x_high]
            + ly * hx * img[:, y_high, x_low]
            + ly * lx * img[:, y_high, x_high])


def _reference(feat, rois, out, scale, sampling_ratio=0, aligned=True):
    """Loops over boxes, bins and samples."""
    result = torch.zeros(rois.shape[0], feat.shape[1], out, out,
                         dtype=feat.dtype)
    offset = 0.5 if aligned else 0.0
    for r, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        x1, y1 = x1 * scale - offset, y1 * scale - offset
        x2, y2 = x2 * scale - offset, y2 * scale - offset
        roi_w, roi_h = x2 - x1, y2 - y1
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_w, bin_h = roi_w / out, roi_h / out
        grid_h = sampling_ratio or math.ceil(roi_h / out)
        grid_w = sampling_ratio or math.ceil(roi_w / out)
        count = max(grid_h * grid_w, 1)
        for ph in range(out):
            for pw in range(out):
                total = torch.zeros(feat.shape[1], dtype=feat.dtype)
                for iy in range(grid_h):
                    y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                        total += _bilinear(feat[int(b)], y, x)
                result[r, :, ph, pw] = total / count
    return result


@pytest.fixture
def feat():
    torch.manual_seed(0)
    return torch.randn(2, 3, 6, 7, dtype=torch.float64)


# (batch, x1, y1, x2, y2) in input pixels at stride 4 (feature 6x7 <- 24x28)
ROIS = torch.tensor([
    [0, 2.0, 3.0, 20.0, 17.0],     # inside
    [1, 0.0, 0.0, 28.0, 24.0],     # the whole image
    [0, -8.0, -6.0, 6.0, 5.0],     # over the top-left border
    [1, 20.0, 14.0, 33.0, 29.0],   # over the bottom-right border
    [1, 9.0, 9.0, 10.5, 10.0],     # smaller than one feature cell
    [0, 12.0, 12.0, 12.0, 12.0],   # empty box
    [0, -30.0, -30.0, -10.0, -12.0],  # entirely outside
], dtype=torch.float64)


@pytest.mark.parametrize('out', [2, 3])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_matches_loop_reference(feat, out, sampling_ratio):
    got = roi_align_pytorch(feat, ROIS, out, 0.25, sampling_ratio)
    expected = _reference(feat, ROIS, out, 0.25, sampling_ratio)
    torch.testing.assert_close(got, expected)


def test_sample_on_the_far_border_reads_the_last_cell():
    """mmcv's rule: a sample is outside only beyond the border (x > W), so
    one exactly at x == W reads the last column."""
    feat = torch.arange(4, dtype=torch.float64).reshape(1, 1, 1, 4)
    rois = torch.tensor([[0, 3.0, 0.0, 5.0, 1.0]], dtype=torch.float64)
    # unaligned, 1 bin of width 2, 1 sample: at x = 3 + 1 = 4 = W
    got = roi_align_pytorch(feat, rois, 1, 1.0, 1, aligned=False)
    assert got.item() == 3.0
    torch.testing.assert_close(got, _reference(feat, rois, 1, 1.0, 1,
                                               aligned=False))


def test_legacy_unaligned_mode(feat):
    got = roi_align_pytorch(feat, ROIS, 2, 0.25, 0, aligned=False)
    torch.testing.assert_close(got, _reference(feat, ROIS, 2, 0.25, 0, False))


def test_adaptive_grid_samples_more_for_big_boxes(feat):
    # a box 6 cells wide with 2 bins needs 3 samples per bin and axis: a
    # single-sample variant (sampling_ratio=1) must differ from the default
    rois = torch.tensor([[0, 0.0, 0.0, 24.0, 24.0]], dtype=torch.float64)
    adaptive = roi_align_pytorch(feat, rois, 2, 0.25, 0)
    torch.testing.assert_close(adaptive, roi_align_pytorch(feat, rois, 2,
                                                           0.25, 3))
    assert not torch.allclose(adaptive, roi_align_pytorch(feat, rois, 2,
                                                          0.25, 1))


def test_constant_map_and_gradient():
    feat = torch.full((1, 2, 5, 5), 3.0, requires_grad=True)
    rois = torch.tensor([[0, 1.0, 1.0, 15.0, 12.0]])
    out = RoIAlign(4, 1 / 4, use_mmcv=False)(feat, rois)
    assert out.shape == (1, 2, 4, 4)
    torch.testing.assert_close(out, torch.full_like(out, 3.0))
    out.sum().backward()
    # each output is an average, so the gradient sums to the number of bins
    torch.testing.assert_close(feat.grad.sum(), torch.tensor(2 * 16.0))


def test_bad_input_is_rejected(feat):
    with pytest.raises(ValueError, match='batch indices'):
        roi_align_pytorch(feat, torch.tensor([[2, 0, 0, 4.0, 4.0]]), 2, 0.25)
    with pytest.raises(ValueError, match='rois'):
        roi_align_pytorch(feat, torch.zeros(3, 4), 2, 0.25)


@pytest.mark.skipif(not HAS_MMCV_OPS, reason='mmcv.ops (full mmcv) missing')
def test_matches_mmcv_ops(feat):
    mmcv_out = RoIAlign(3, 0.25, use_mmcv=True)(feat.float(), ROIS.float())
    ours = RoIAlign(3, 0.25, use_mmcv=False)(feat.float(), ROIS.float())
    torch.testing.assert_close(ours, mmcv_out, atol=1e-5, rtol=1e-4)
