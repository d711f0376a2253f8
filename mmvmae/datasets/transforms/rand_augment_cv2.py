"""The RandAugment operations on a whole clip with OpenCV and numpy.

A fast backend of ``VideoRandAugment``: every op takes a C-contiguous
``(T, H, W, 3)`` uint8 RGB clip that it may overwrite and returns the
augmented clip. The results follow the PIL reference (``rand_augment.py``):

- LUT ops (Invert, Posterize, Solarize, SolarizeAdd, Brightness),
  AutoContrast and Equalize are exact;
- Contrast is exact unless OpenCV's grey mean (its luma differs from PIL's
  'L' by one level on ~0.1 % of pixels) rounds the other way;
- Color and Sharpness blend in float and round ``v - 0.495`` instead of
  truncating: within one grey level;
- Rotate uses ``cv2.warpAffine`` with PIL's matrix moved to OpenCV's
  pixel-centre convention; OpenCV's cubic kernel (a=-0.75) differs a
  little from PIL's (a=-1), and the fill colour is blended into a
  one-pixel band along the image border where PIL switches abruptly.
- Translate and Shear move pixels along one axis only: 1-D filters with
  PIL's own rules (``rand_augment_lines.py``), equal to PIL but for float
  noise (one level where PIL's value is within 0.006 of an integer), fill
  border included, and 3-10x faster than a 2-D warp.

The geometric ops can compute only a box of their output (for a crop that
follows, ``rand_augment_region.py``): Translate and Shear exactly (the rows
or columns through the box), Rotate by a warp straight into the box, which
OpenCV's fixed-point coordinates round a little differently (one grey level
on about 0.03 % of values).
"""
import math
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from .rand_augment_lines import (TRUNC, shear_columns, shear_rows,
                                 translate)

INTERPOLATIONS = {'bicubic': cv2.INTER_CUBIC, 'bilinear': cv2.INTER_LINEAR}
Box = Tuple[int, int, int, int]  # left, top, right, bottom (exclusive)
_LEVELS = np.arange(256, dtype=np.float32)


def _flat(clip: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) -> (T * H, W, 3) view, one image for whole-clip ops."""
    return clip.reshape(-1, clip.shape[2], clip.shape[3])


def _crop(clip: np.ndarray, box: Optional[Box]) -> np.ndarray:
    if box is None:
        return clip
    left, top, right, bottom = box
    return clip[:, top:bottom, left:right]


def _apply_lut(clip: np.ndarray, lut: np.ndarray) -> np.ndarray:
    cv2.LUT(_flat(clip), lut.astype(np.uint8), dst=_flat(clip))
    return clip


def _blend_lut(degenerate: float, factor: float) -> np.ndarray:
    """PIL's ``Image.blend(degenerate, img, factor)`` of a constant
    ``degenerate`` as a (256,) LUT: float32 math, truncation, clipping."""
    out = np.float32(degenerate) + np.float32(factor) * (
        _LEVELS - np.float32(degenerate))
    return np.clip(np.trunc(out), 0, 255)


def invert(clip: np.ndarray, arg, fill, interp) -> np.ndarray:
    return _apply_lut(clip, 255 - np.arange(256))


def posterize(clip: np.ndarray, bits: int, fill, interp) -> np.ndarray:
    if bits >= 8:
        return clip
    return _apply_lut(clip, np.arange(256) & (0xFF << (8 - bits)) & 0xFF)


def solarize(clip: np.ndarray, threshold: int, fill, interp) -> np.ndarray:
    levels = np.arange(256)
    return _apply_lut(clip, np.where(levels < threshold, levels,
                                     255 - levels))


def solarize_add(clip: np.ndarray, add: int, fill, interp) -> np.ndarray:
    levels = np.arange(256)
    return _apply_lut(clip, np.where(levels < 128,
                                     np.minimum(levels + add, 255), levels))


def brightness(clip: np.ndarray, factor: float, fill, interp) -> np.ndarray:
    return _apply_lut(clip, _blend_lut(0, factor))


def contrast(clip: np.ndarray, factor: float, fill, interp) -> np.ndarray:
    """Blend each frame with its mean grey level (PIL's rounding)."""
    grey = cv2.cvtColor(_flat(clip), cv2.COLOR_RGB2GRAY)
    for frame, frame_grey in zip(clip, grey.reshape(len(clip), -1)):
        mean = int(cv2.mean(frame_grey)[0] + 0.5)
        lut = _blend_lut(mean, factor).astype(np.uint8)
        cv2.LUT(frame, lut, dst=frame)
    return clip


def color(clip: np.ndarray, factor: float, fill, interp) -> np.ndarray:
    """Blend with the grey clip (ITU-R 601 luma, as PIL's 'L')."""
    flat = _flat(clip)
    grey = cv2.cvtColor(cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY),
                        cv2.COLOR_GRAY2RGB)
    cv2.addWeighted(flat, factor, grey, 1 - factor, TRUNC, dst=flat)
    return clip


def sharpness(clip: np.ndarray, factor: float, fill, interp) -> np.ndarray:
    """Blend with PIL's SMOOTH filter ([[1,1,1],[1,5,1],[1,1,1]] / 13,
    rounded, border pixels of each frame unfiltered)."""
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 5
    # filtering the stacked frames mixes rows only at frame borders, which
    # are restored below
    smooth = cv2.filter2D(_flat(clip), -1, kernel / 13).reshape(clip.shape)
    for index in (np.s_[:, [0, -1]], np.s_[:, :, [0, -1]]):
        smooth[index] = clip[index]
    cv2.addWeighted(_flat(clip), factor, _flat(smooth), 1 - factor, TRUNC,
                    dst=_flat(clip))
    return clip


def _per_channel_luts(frame: np.ndarray,
                      lut_fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """Map each channel of ``frame`` in place by ``lut_fn(histogram)``."""
    luts = [
        lut_fn(cv2.calcHist([frame], [c], None, [256], [0, 256])
               .reshape(256).astype(np.int64)) for c in range(3)
    ]
    lut = np.stack(luts, axis=1).reshape(256, 1, 3)
    cv2.LUT(frame, np.clip(lut, 0, 255).astype(np.uint8), dst=frame)


def _autocontrast_lut(hist: np.ndarray) -> np.ndarray:
    present = np.flatnonzero(hist)
    lo, hi = present[0], present[-1]
    if hi <= lo:
        return np.arange(256)
    scale = 255.0 / (hi - lo)
    return np.trunc(np.arange(256) * scale + (-lo * scale))


def _equalize_lut(hist: np.ndarray) -> np.ndarray:
    present = hist[hist > 0]
    step = (present.sum() - present[-1]) // 255
    if len(present) <= 1 or not step:
        return np.arange(256)
    before = np.concatenate([[0], np.cumsum(hist)[:-1]])
    return (step // 2 + before) // step


def autocontrast(clip: np.ndarray, arg, fill, interp) -> np.ndarray:
    for frame in clip:
        _per_channel_luts(frame, _autocontrast_lut)
    return clip


def equalize(clip: np.ndarray, arg, fill, interp) -> np.ndarray:
    for frame in clip:
        _per_channel_luts(frame, _equalize_lut)
    return clip


def pil_affine(clip: np.ndarray, matrix: Sequence[float],
               fill: Tuple[int, ...], interp: str,
               box: Optional[Box] = None) -> np.ndarray:
    """``PIL.Image.transform(AFFINE, matrix)`` of every frame; with ``box``
    only that part of the output (see the module notes).

    PIL samples output pixel ``(x, y)`` at input ``(a (x + .5) + b (y + .5)
    + c, d (x + .5) + e (y + .5) + f)`` in pixel-edge coordinates; OpenCV's
    inverse map works on pixel centres, half a pixel away on both sides.
    """
    a, b, c, d, e, f = matrix
    warp = np.array([[a, b, c + (a + b - 1) / 2],
                     [d, e, f + (d + e - 1) / 2]], np.float64)
    height, width = clip.shape[1:3]
    out = clip  # in place: each frame is read before it is overwritten
    if box is not None:
        left, top, right, bottom = box
        width, height = right - left, bottom - top
        warp[:, 2] += warp[:, 0] * left + warp[:, 1] * top
        out = np.empty((len(clip), height, width, 3), np.uint8)
    flags = INTERPOLATIONS[interp] | cv2.WARP_INVERSE_MAP
    for frame, dst in zip(clip, out):
        dst[:] = cv2.warpAffine(frame, warp, (width, height), flags=flags,
                                borderMode=cv2.BORDER_CONSTANT,
                                borderValue=tuple(fill))
    return out


def rotate(clip: np.ndarray, degrees: float, fill, interp,
           box: Optional[Box] = None) -> np.ndarray:
    """PIL's ``rotate`` (counter-clockwise, around ``(w / 2, h / 2)``)."""
    if degrees % 360 == 0:
        return _crop(clip, box)
    height, width = clip.shape[1:3]
    angle = -math.radians(degrees)
    cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
    cx, cy = width / 2, height / 2
    matrix = (cos, sin, cx - cos * cx - sin * cy,
              -sin, cos, cy + sin * cx - cos * cy)
    return pil_affine(clip, matrix, fill, interp, box)


def shear_x(clip: np.ndarray, shear: float, fill, interp,
            box: Optional[Box] = None) -> np.ndarray:
    """PIL's affine ``(1, shear, 0, 0, 1, 0)``: row ``y`` moves by
    ``shear (y + .5)``."""
    left, top, right, bottom = _whole(clip, box)
    terms = shear * (np.arange(top, bottom) + .5)
    return shear_rows(clip[:, top:bottom], terms, (left, right), fill,
                      interp)


def shear_y(clip: np.ndarray, shear: float, fill, interp,
            box: Optional[Box] = None) -> np.ndarray:
    """PIL's affine ``(1, 0, 0, shear, 1, 0)``: column ``x`` moves by
    ``shear (x + .5)``."""
    box = _whole(clip, box)
    terms = shear * (np.arange(box[0], box[2]) + .5)
    return shear_columns(clip, terms, box, fill, interp)


def translate_x_rel(clip: np.ndarray, frac: float, fill, interp,
                    box: Optional[Box] = None) -> np.ndarray:
    """PIL's affine ``(1, 0, frac * width, 0, 1, 0)``."""
    return translate(clip, frac * clip.shape[2], 2, _whole(clip, box), fill,
                     interp)


def translate_y_rel(clip: np.ndarray, frac: float, fill, interp,
                    box: Optional[Box] = None) -> np.ndarray:
    """PIL's affine ``(1, 0, 0, 0, 1, frac * height)``."""
    return translate(clip, frac * clip.shape[1], 1, _whole(clip, box), fill,
                     interp)


def _whole(clip: np.ndarray, box: Optional[Box]) -> Box:
    return box or (0, 0, clip.shape[2], clip.shape[1])


# name -> op(clip, arg, fill, interpolation name) -> clip; the ops in
# GEOMETRIC also take ``box`` (compute only that part of the output)
GEOMETRIC = ('Rotate', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel')
CV2_OPS: Dict[str, Callable] = {
    'AutoContrast': autocontrast,
    'Equalize': equalize,
    'Invert': invert,
    'Rotate': rotate,
    'PosterizeIncreasing': posterize,
    'SolarizeIncreasing': solarize,
    'SolarizeAdd': solarize_add,
    'ColorIncreasing': color,
    'ContrastIncreasing': contrast,
    'BrightnessIncreasing': brightness,
    'SharpnessIncreasing': sharpness,
    'ShearX': shear_x,
    'ShearY': shear_y,
    'TranslateXRel': translate_x_rel,
    'TranslateYRel': translate_y_rel,
}
