"""PIL's affine resampling for maps that move pixels along one axis only.

Translate and Shear keep every output pixel on its input row (or column):
ShearX maps output ``(x, y)`` to input ``(x + s (y + .5), y)``, so each row
is a 1-D resampling with its own offset, and the other axis's weights are
exactly ``(0, 1, 0, 0)``. This module reproduces PIL's rules
(``Geometry.c``: ``affine_transform`` and the bilinear / bicubic filters)
with one OpenCV 1-D filter per row (per frame for Translate, whose offset is
the same everywhere):

- the sample point is PIL's ``xin = a (x + .5) + b (y + .5) + c`` with
  ``a = 1``, in pixel-edge coordinates, the sums in PIL's order;
- the output is the fill colour where ``xin`` is outside ``[0, W)``;
- otherwise the taps sit at ``floor(xin - .5) - 1 ... + 2`` with PIL's
  weights (cubic a=-1, or linear), taps past the image edge read the edge
  pixel, and the result is truncated.

OpenCV filters in float32 and PIL works in float64: the two differ by one
level where PIL's value lies within 0.006 of an integer (a value a hair
under an integer by PIL's float noise, or within 0.005 under one, where
truncation and the rounding used here part): a few % of values at most.
"""
from typing import Tuple

import cv2
import numpy as np

# rounding an output v - 0.495 gives trunc(v) (PIL's) except for fractional
# parts in [0.995, 1), and is robust to float noise at integers
TRUNC = -0.495
_OFFSETS = np.array([-1., 0., 1., 2.])


def taps(frac: np.ndarray, interp: str) -> np.ndarray:
    """PIL's weights ``(..., 4)`` of the samples at ``-1, 0, 1, 2`` for
    points ``frac`` in ``[0, 1)`` past sample 0: cubic (a=-1) or linear."""
    frac = np.asarray(frac, np.float64)[..., None]
    if interp == 'bilinear':
        return np.concatenate([np.zeros_like(frac), 1. - frac, frac,
                               np.zeros_like(frac)], -1)
    if interp != 'bicubic':
        raise ValueError(f'unknown interpolation {interp!r}')
    dist = np.abs(_OFFSETS - frac)
    near = dist**3 - 2 * dist**2 + 1  # a = -1, |d| <= 1
    far = -dist**3 + 5 * dist**2 - 8 * dist + 4  # 1 < |d| < 2
    return np.where(dist <= 1, near, np.where(dist < 2, far, 0.))


def _positions(terms: np.ndarray, const: float, span: Tuple[int, int],
               size: int, interp: str) -> tuple:
    """PIL's sample points ``xin = ((x + .5) + terms[r]) + const`` of the
    output positions ``span`` on lines of ``size`` pixels: per line, the run
    ``[lo, hi)`` of output positions inside the line, the input position
    ``first`` that output position 0 of the span centres its taps on, and
    the tap weights."""
    xin = ((np.arange(*span) + .5)[None] + terms[:, None]) + const
    lo = (xin < 0).sum(1)
    hi = np.maximum(xin.shape[1] - (xin >= size).sum(1), lo)
    first = np.floor(xin[:, 0] - .5)
    weights = taps(xin[:, 0] - .5 - first, interp).astype(np.float32)
    return lo, hi, first.astype(np.int64), weights


def translate(clip: np.ndarray, shift: float, axis: int,
              box: Tuple[int, int, int, int], fill: Tuple[int, ...],
              interp: str) -> np.ndarray:
    """The ``box`` (left, top, right, bottom) of the ``(T, H, W, 3)`` clip
    moved along ``axis`` (2: x, 1: y): PIL's sample point ``((p + .5) + 0)
    + shift`` for output position ``p``; one filter per frame."""
    left, top, right, bottom = box
    out = np.empty((len(clip), bottom - top, right - left, 3), np.uint8)
    if not out.size:
        return out
    span = (left, right) if axis == 2 else (top, bottom)
    (lo, ), (hi, ), (first, ), (weights, ) = _positions(
        np.zeros(1), shift, span, clip.shape[axis], interp)
    lines = clip[:, top:bottom] if axis == 2 else clip[:, :, left:right]
    for src, dst in zip(lines, out):
        _filter(src, axis - 1, weights, first, lo, hi, dst)
    # runs of fill pixels, so that numpy copies whole runs at once
    pixels = np.tile(np.asarray(fill, np.uint8), (out.shape[2], 1))
    if axis == 2:
        out[:, :, :lo] = pixels[:lo]
        out[:, :, hi:] = pixels[hi:]
    else:
        out[:, :lo] = pixels
        out[:, hi:] = pixels
    return out


def shear_rows(lines: np.ndarray, terms: np.ndarray, span: Tuple[int, int],
               fill: Tuple[int, ...], interp: str) -> np.ndarray:
    """Output pixel ``(x, r)`` samples row ``r`` of ``lines`` (``(T, R, W,
    3)`` uint8) at PIL's ``xin = ((x + .5) + terms[r]) + 0``, for the output
    columns ``span = (left, right)``; returns ``(T, R, right - left, 3)``.
    """
    frames, rows, width = lines.shape[:3]
    out = np.empty((frames, rows, span[1] - span[0], 3), np.uint8)
    if not out.size:
        return out
    lo, hi, first, weights = _positions(np.asarray(terms, np.float64), 0.,
                                        span, width, interp)
    pixels = np.tile(np.asarray(fill, np.uint8), (out.shape[2], 1))
    for r in range(rows):
        _filter(lines[:, r], 1, weights[r], first[r], lo[r], hi[r],
                out[:, r])
        out[:, r, :lo[r]] = pixels[:lo[r]]
        out[:, r, hi[r]:] = pixels[hi[r]:]
    return out


def shear_columns(clip: np.ndarray, terms: np.ndarray,
                  box: Tuple[int, int, int, int], fill: Tuple[int, ...],
                  interp: str) -> np.ndarray:
    """``shear_rows`` along the columns: output pixel ``(x, y)`` of ``box``
    (left, top, right, bottom) samples column ``x`` of the ``(T, H, W, 3)``
    clip at PIL's ``yin = ((y + .5) + terms[x]) + 0`` (``terms`` for the
    box's columns), by way of the transposed clip."""
    left, top, right, bottom = box
    columns = _transpose(clip[:, :, left:right])
    return _transpose(shear_rows(columns, terms, (top, bottom), fill,
                                 interp))


def _filter(src: np.ndarray, axis: int, weights: np.ndarray, first: int,
            lo: int, hi: int, dst: np.ndarray) -> None:
    """Along ``axis`` (0 or 1) of ``src`` and ``dst``: ``dst[j] =
    trunc(sum_k weights[k] src[first + j + k - 1])`` for ``lo <= j < hi``,
    taps past the ends clamped to them (PIL's rule; the centre ``first + j``
    lies in ``[-1, size)``)."""
    if lo >= hi:
        return

    def at(index):  # ``index`` along ``axis``
        return (slice(None), index) if axis else (index, )

    # OpenCV's replicated border is PIL's clamping
    kernel, anchor = (weights[None], (1, 0)) if axis else (weights[:, None],
                                                           (0, 1))
    filtered = cv2.filter2D(src, -1, kernel, anchor=anchor, delta=TRUNC,
                            borderType=cv2.BORDER_REPLICATE)
    if first + lo < 0:  # centre -1: taps -2, -1, 0 read position 0
        edge = weights[:3].sum() * src[at(0)].astype(np.float32) + \
            weights[3] * src[at(min(1, src.shape[axis] - 1))]
        dst[at(lo)] = np.clip(np.rint(edge + TRUNC), 0, 255)
        lo += 1
    dst[at(slice(lo, hi))] = filtered[at(slice(first + lo, first + hi))]


def _transpose(clip: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) -> (T, W, H, 3), contiguous (OpenCV: 10x numpy)."""
    out = np.empty((clip.shape[0], clip.shape[2], clip.shape[1], 3),
                   np.uint8)
    for frame, dst in zip(clip, out if out.size else ()):
        cv2.transpose(frame, dst=dst)
    return out
