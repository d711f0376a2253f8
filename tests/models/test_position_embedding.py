import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmvmae.models.utils import (interpolate_position_table,
                                 sinusoid_position_table)


def numpy_table(n: int, dim: int) -> np.ndarray:
    table = np.zeros((n, dim))
    for pos in range(n):
        for j in range(dim):
            angle = pos / np.power(10000, 2 * (j // 2) / dim)
            table[pos, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
    return table


def linear_in_time(x: np.ndarray, dst_t: int) -> np.ndarray:
    """align_corners=False linear resize along axis 0, by the formula."""
    src_t = x.shape[0]
    out = []
    for i in range(dst_t):
        src = max((i + 0.5) * src_t / dst_t - 0.5, 0.)
        lo = min(int(np.floor(src)), src_t - 1)
        hi = min(lo + 1, src_t - 1)
        frac = src - lo
        out.append((1 - frac) * x[lo] + frac * x[hi])
    return np.stack(out)


def bicubic_per_slot(table: torch.Tensor, grid, size) -> torch.Tensor:
    """(1, t*h*w, C) -> (t, h', w', C), one 2-D resize per temporal slot."""
    t, h, w = grid
    slots = []
    for s in range(t):
        tokens = table[0, s * h * w:(s + 1) * h * w]
        image = tokens.reshape(h, w, -1).permute(2, 0, 1)[None]
        image = F.interpolate(image, size=size, mode='bicubic',
                              align_corners=False)
        slots.append(image[0].permute(1, 2, 0))
    return torch.stack(slots)


@pytest.mark.parametrize('n,dim', [(1568, 16), (50, 6)])
def test_sinusoid_matches_formula(n, dim):
    table = sinusoid_position_table(n, dim)
    assert table.shape == (1, n, dim) and table.dtype == torch.float32
    np.testing.assert_allclose(table[0].numpy(), numpy_table(n, dim),
                               atol=1e-6)


def test_sinusoid_rejects_bad_sizes():
    with pytest.raises(ValueError, match='num_tokens'):
        sinusoid_position_table(0, 8)


def test_same_grid_is_identity():
    table = sinusoid_position_table(2 * 3 * 3, 8)
    assert interpolate_position_table(table, (2, 3, 3), (2, 3, 3)) is table


@pytest.mark.parametrize('size', [(6, 5), (4, 6), (6, 4)])
def test_spatial_bicubic_per_slot(size):
    """Either side alone (a wider or taller frame) or both."""
    table = sinusoid_position_table(2 * 4 * 4, 16)
    out = interpolate_position_table(table, (2, 4, 4), (2, *size))
    ref = bicubic_per_slot(table, (2, 4, 4), size).reshape(1, -1, 16)
    assert out.shape == (1, 2 * size[0] * size[1], 16)
    torch.testing.assert_close(out, ref)


@pytest.mark.parametrize('dst_t', [4, 3, 1])
def test_temporal_linear(dst_t):
    table = sinusoid_position_table(2 * 3 * 3, 8)
    out = interpolate_position_table(table, (2, 3, 3), (dst_t, 3, 3))
    ref = linear_in_time(table[0].reshape(2, 9, 8).numpy(), dst_t)
    np.testing.assert_allclose(out[0].reshape(dst_t, 9, 8).numpy(), ref,
                               atol=1e-6)


def test_space_and_time():
    table = sinusoid_position_table(2 * 4 * 4, 8)
    out = interpolate_position_table(table, (2, 4, 4), (4, 6, 6))
    spatial = bicubic_per_slot(table, (2, 4, 4), (6, 6)).numpy()
    ref = linear_in_time(spatial.reshape(2, 36, 8), 4)
    np.testing.assert_allclose(out[0].reshape(4, 36, 8).numpy(), ref,
                               atol=1e-6)


def test_interpolate_rejects_wrong_table():
    with pytest.raises(ValueError, match='src_grid'):
        interpolate_position_table(torch.zeros(1, 10, 8), (2, 2, 2),
                                   (2, 3, 3))
