"""RandAugment for clips: the same operations and magnitudes on every frame.

The operation set and magnitude mapping follow the "increasing" RandAugment
of timm (``rand-m7-n4-mstd0.5-inc1`` in the VideoMAE recipe), written with
PIL: torchvision is not needed.
"""
from typing import Callable, Dict, List, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image, ImageEnhance, ImageOps

from mmvmae.registry import TRANSFORMS

_MAX_LEVEL = 10.


def _signed(value: float, rng: np.random.RandomState) -> float:
    return -value if rng.rand() < 0.5 else value


def _affine(img: Image.Image, matrix, fill) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, matrix,
                         resample=Image.BICUBIC, fillcolor=fill)


def _solarize_add(img: Image.Image, add: int) -> Image.Image:
    arr = np.asarray(img).astype(np.int16)
    arr = np.where(arr < 128, np.minimum(arr + add, 255), arr)
    return Image.fromarray(arr.astype(np.uint8))


# name -> (op(img, arg, fill), level (0..10) -> arg, whether arg gets a sign)
_OPS: Dict[str, tuple] = {
    'AutoContrast': (lambda img, a, f: ImageOps.autocontrast(img), None, 0),
    'Equalize': (lambda img, a, f: ImageOps.equalize(img), None, 0),
    'Invert': (lambda img, a, f: ImageOps.invert(img), None, 0),
    'Rotate': (lambda img, a, f: img.rotate(
        a, resample=Image.BICUBIC, fillcolor=f), lambda m: m / 10 * 30., 1),
    'PosterizeIncreasing': (lambda img, a, f: img if a >= 8 else
                            ImageOps.posterize(img, a),
                            lambda m: 4 - int(m / 10 * 4), 0),
    'SolarizeIncreasing': (lambda img, a, f: ImageOps.solarize(img, a),
                           lambda m: 256 - int(m / 10 * 256), 0),
    'SolarizeAdd': (lambda img, a, f: _solarize_add(img, a),
                    lambda m: int(m / 10 * 110), 0),
    'ColorIncreasing': (lambda img, a, f: ImageEnhance.Color(img).enhance(a),
                        lambda m: m / 10 * .9, 1),
    'ContrastIncreasing': (
        lambda img, a, f: ImageEnhance.Contrast(img).enhance(a),
        lambda m: m / 10 * .9, 1),
    'BrightnessIncreasing': (
        lambda img, a, f: ImageEnhance.Brightness(img).enhance(a),
        lambda m: m / 10 * .9, 1),
    'SharpnessIncreasing': (
        lambda img, a, f: ImageEnhance.Sharpness(img).enhance(a),
        lambda m: m / 10 * .9, 1),
    'ShearX': (lambda img, a, f: _affine(img, (1, a, 0, 0, 1, 0), f),
               lambda m: m / 10 * .3, 1),
    'ShearY': (lambda img, a, f: _affine(img, (1, 0, 0, a, 1, 0), f),
               lambda m: m / 10 * .3, 1),
    'TranslateXRel': (lambda img, a, f: _affine(
        img, (1, 0, a * img.size[0], 0, 1, 0), f), lambda m: m / 10 * .45, 1),
    'TranslateYRel': (lambda img, a, f: _affine(
        img, (1, 0, 0, 0, 1, a * img.size[1]), f), lambda m: m / 10 * .45, 1),
}
# enhancement factors are 1 +/- level: the sign picks darker or brighter
_ENHANCE = ('ColorIncreasing', 'ContrastIncreasing', 'BrightnessIncreasing',
            'SharpnessIncreasing')


@TRANSFORMS.register_module()
class VideoRandAugment(BaseTransform):
    """Apply ``num_ops`` random operations, each with probability ``prob``,
    identically to all frames of ``results['imgs']`` (list of ``(H, W, 3)``
    uint8 RGB arrays).

    Args:
        magnitude (float): Mean magnitude on a 0-10 scale (7 in VideoMAE).
        num_ops (int): Operations drawn (with replacement) per clip (4).
        magnitude_std (float): Std of the Gaussian noise added to the
            magnitude per operation, clipped to [0, 10] (0.5).
        prob (float): Probability to apply each drawn operation (0.5).
        ops (Sequence[str]): Operation names; default all in ``_OPS``.
        fill (Sequence[int]): Fill colour of geometric ops (ImageNet mean).
    """

    def __init__(self,
                 magnitude: float = 7.,
                 num_ops: int = 4,
                 magnitude_std: float = 0.5,
                 prob: float = 0.5,
                 ops: Sequence[str] = tuple(_OPS),
                 fill: Sequence[int] = (124, 116, 104)) -> None:
        unknown = [op for op in ops if op not in _OPS]
        if unknown:
            raise ValueError(f'VideoRandAugment.ops: unknown {unknown}; '
                             f'allowed {list(_OPS)}')
        if not 0 <= magnitude <= _MAX_LEVEL or num_ops < 0 or \
                not 0 <= prob <= 1 or magnitude_std < 0:
            raise ValueError(
                'VideoRandAugment: need 0 <= magnitude <= 10, num_ops >= 0, '
                f'0 <= prob <= 1, magnitude_std >= 0; got {magnitude}, '
                f'{num_ops}, {prob}, {magnitude_std}')
        self.magnitude, self.num_ops = magnitude, num_ops
        self.magnitude_std, self.prob = magnitude_std, prob
        self.ops, self.fill = list(ops), tuple(fill)

    def sample_ops(self, rng=np.random) -> List[Callable]:
        """Draw the per-clip operations, each a function ``img -> img``."""
        chosen = []
        for name in rng.choice(self.ops, self.num_ops):
            if rng.rand() >= self.prob:
                continue
            op, level_to_arg, signed = _OPS[name]
            level = self.magnitude
            if self.magnitude_std > 0:
                level = rng.normal(level, self.magnitude_std)
            level = float(np.clip(level, 0, _MAX_LEVEL))
            arg = level_to_arg(level) if level_to_arg else None
            if signed:
                arg = _signed(arg, rng)
            if name in _ENHANCE:
                arg = 1. + arg
            chosen.append(lambda img, op=op, arg=arg: op(img, arg, self.fill))
        return chosen

    def transform(self, results: dict) -> dict:
        """Augment ``results['imgs']`` in place of the frames."""
        ops = self.sample_ops()
        if not ops:
            return results
        frames = []
        for frame in results['imgs']:
            if frame.dtype != np.uint8 or frame.ndim != 3 or \
                    frame.shape[2] != 3:
                raise ValueError('VideoRandAugment needs uint8 (H, W, 3) '
                                 f'frames, got {frame.dtype} {frame.shape}')
            img = Image.fromarray(frame)
            for op in ops:
                img = op(img)
            frames.append(np.asarray(img))
        results['imgs'] = frames
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(magnitude={self.magnitude}, '
                f'num_ops={self.num_ops}, magnitude_std={self.magnitude_std}, '
                f'prob={self.prob})')
