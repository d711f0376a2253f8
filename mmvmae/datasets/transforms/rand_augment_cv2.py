"""The RandAugment operations on a whole clip with OpenCV and numpy.

A fast backend of ``VideoRandAugment``: every op takes a C-contiguous
``(T, H, W, 3)`` uint8 RGB clip that it may overwrite and returns the
augmented clip. The results follow the PIL reference (``rand_augment.py``):

- the per-level ops (Invert, Posterize, Solarize, SolarizeAdd,
  Brightness), AutoContrast and Equalize are exact;
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

The geometric ops and the ops with whole-frame statistics (AutoContrast,
Equalize, Contrast) can compute only a box of their output (for a crop that
follows, ``rand_augment_region.py``): the statistics ops, Translate and
Shear exactly (the rows or columns through the box), Rotate by a warp
straight into the box, which OpenCV's fixed-point coordinates round a little
differently (one grey level on about 0.03 % of values).

Invert, Posterize, Solarize and SolarizeAdd run as SIMD bitwise / threshold
/ saturating ops of OpenCV and numpy (about 0.2-0.6 ms a clip where a table
lookup takes 1.1 ms); Brightness stays a table (PIL's float32 truncation).
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
_LEVELS64 = np.arange(256, dtype=np.float64)


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
    return np.invert(clip, out=clip)  # 255 - v


def posterize(clip: np.ndarray, bits: int, fill, interp) -> np.ndarray:
    if bits >= 8:
        return clip
    return np.bitwise_and(clip, np.uint8((0xFF << (8 - bits)) & 0xFF),
                          out=clip)


def solarize(clip: np.ndarray, threshold: int, fill, interp) -> np.ndarray:
    """``v`` below ``threshold``, else ``255 - v`` (which is ``v ^ 255``):
    XOR with OpenCV's binary threshold mask, two SIMD passes."""
    flat = _flat(clip)
    mask = cv2.threshold(flat, math.ceil(threshold) - 1, 255,
                         cv2.THRESH_BINARY)[1]  # 255 where v >= threshold
    cv2.bitwise_xor(flat, mask, dst=flat)
    return clip


def solarize_add(clip: np.ndarray, add: int, fill, interp) -> np.ndarray:
    """``min(v + add, 255)`` below 128: a saturating add of ``add`` where
    OpenCV's inverse threshold mask is set."""
    if add != int(add) or not 0 <= add <= 255:  # not the recipe's levels
        levels = np.arange(256)
        return _apply_lut(clip, np.where(
            levels < 128, np.clip(levels + add, 0, 255), levels))
    flat = _flat(clip)
    addend = cv2.threshold(flat, 127, int(add), cv2.THRESH_BINARY_INV)[1]
    cv2.add(flat, addend, dst=flat)
    return clip


def brightness(clip: np.ndarray, factor: float, fill, interp) -> np.ndarray:
    return _apply_lut(clip, _blend_lut(0, factor))


def contrast(clip: np.ndarray, factor: float, fill, interp,
             box: Optional[Box] = None) -> np.ndarray:
    """Blend each frame with its mean grey level (PIL's rounding)."""
    grey = cv2.cvtColor(_flat(clip), cv2.COLOR_RGB2GRAY)
    luts = [
        _blend_lut(int(cv2.mean(frame_grey)[0] + 0.5), factor)
        for frame_grey in grey.reshape(len(clip), -1)
    ]
    return _map_frames(clip, np.stack(luts)[..., None], box)


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


def _map_frames(clip: np.ndarray, luts: np.ndarray,
               box: Optional[Box]) -> np.ndarray:
    """Frame ``t`` through table ``luts[t]`` of shape (256, 1) (every
    channel) or (256, 3) (one column per channel): in place, or only
    ``box`` of the output into a new array."""
    src = _crop(clip, box)
    out = clip if box is None else np.empty(src.shape, np.uint8)
    luts = np.clip(luts, 0, 255).astype(np.uint8)
    for frame, dst, lut in zip(src, out, luts if out.size else ()):
        cv2.LUT(frame, lut.reshape(256, 1, -1), dst=dst)
    return out


def _histograms(clip: np.ndarray) -> np.ndarray:
    """(T, 3, 256) int64 counts of every frame and channel."""
    return np.array([[
        cv2.calcHist([frame], [c], None, [256], [0, 256]).reshape(256)
        for c in range(3)
    ] for frame in clip]).astype(np.int64)


def autocontrast(clip: np.ndarray, arg, fill, interp,
                 box: Optional[Box] = None) -> np.ndarray:
    """PIL's ``autocontrast`` per frame and channel: its lowest and highest
    present levels (the first and last non-empty histogram bins) stretched
    to 0 and 255 in float64, truncated."""
    rows = clip.reshape(len(clip), clip.shape[1], -1)  # (T, H, W * 3)
    lo = rows.min(axis=1).reshape(len(clip), -1, 3).min(axis=1)
    hi = rows.max(axis=1).reshape(len(clip), -1, 3).max(axis=1)
    lo, hi = lo.astype(np.float64), hi.astype(np.float64)
    stretch = hi > lo  # else the identity
    scale = 255.0 / np.where(stretch, hi - lo, 1)
    offset = -lo * scale
    luts = np.where(stretch[..., None],
                    np.trunc(_LEVELS64 * scale[..., None] + offset[..., None]),
                    _LEVELS64)  # (T, 3, 256)
    return _map_frames(clip, luts.transpose(0, 2, 1), box)


def equalize(clip: np.ndarray, arg, fill, interp,
             box: Optional[Box] = None) -> np.ndarray:
    """PIL's ``equalize`` per frame and channel: level ``v`` maps to
    ``(step // 2 + count below v) // step``, ``step`` being the count of all
    but the highest present level over 255 (identity when 0 or one level
    present)."""
    hist = _histograms(clip)  # (T, 3, 256)
    top = 255 - np.argmax(hist[..., ::-1] > 0, axis=-1)
    highest = np.take_along_axis(hist, top[..., None], -1)[..., 0]
    step = (hist.sum(-1) - highest) // 255
    equal = ((hist > 0).sum(-1) > 1) & (step > 0)  # else the identity
    step = np.where(equal, step, 1)[..., None]
    below = np.cumsum(hist, -1) - hist
    luts = np.where(equal[..., None], (step // 2 + below) // step,
                    _LEVELS64.astype(np.int64))
    return _map_frames(clip, luts.transpose(0, 2, 1), box)


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
    # (OpenCV reads a size of 0 as the input's size: no empty warps)
    for frame, dst in zip(clip, out if out.size else ()):
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
# BOXED also take ``box`` (read whole frames, compute only that part of the
# output): the geometric ops and those with whole-frame statistics
GEOMETRIC = ('Rotate', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel')
STATISTICS = ('AutoContrast', 'Equalize', 'ContrastIncreasing')
BOXED = GEOMETRIC + STATISTICS
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
