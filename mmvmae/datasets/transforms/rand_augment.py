"""RandAugment for clips: the same operations and magnitudes on every frame.

The operation set and magnitude mapping follow the "increasing" RandAugment
of timm (``rand-m7-n4-mstd0.5-inc1`` in the VideoMAE recipe). Sampling
yields ``(name, arg)`` pairs; two backends apply them: ``'cv2'`` (default,
whole clip at once, ``rand_augment_cv2.py``) and ``'pil'`` (the reference,
frame by frame, written here). torchvision is not needed.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmaction.datasets.transforms import RandomCrop
from mmcv.transforms import BaseTransform
from PIL import Image, ImageEnhance, ImageOps

from mmvmae.registry import TRANSFORMS
from .rand_augment_cv2 import CV2_OPS, INTERPOLATIONS
from .rand_augment_region import apply_in_box

_MAX_LEVEL = 10.
_PIL_RESAMPLE = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR}
BACKENDS = ('cv2', 'pil')


def _signed(value: float, rng: np.random.RandomState) -> float:
    return -value if rng.rand() < 0.5 else value


def _affine(img: Image.Image, matrix, fill, resample) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, matrix, resample=resample,
                         fillcolor=fill)


def _solarize_add(img: Image.Image, add: int) -> Image.Image:
    arr = np.asarray(img).astype(np.int16)
    arr = np.where(arr < 128, np.minimum(arr + add, 255), arr)
    return Image.fromarray(arr.astype(np.uint8))


def _posterize(img: Image.Image, bits: int) -> Image.Image:
    if bits >= 8:
        return img
    if bits <= 0:  # level 10; Pillow >= 10 refuses 0 bits: keep none
        return Image.new(img.mode, img.size, 0)
    return ImageOps.posterize(img, bits)


# name -> (PIL op(img, arg, fill, resample), level (0..10) -> arg, whether
# arg gets a sign)
_OPS: Dict[str, tuple] = {
    'AutoContrast': (lambda img, a, f, r: ImageOps.autocontrast(img), None,
                     0),
    'Equalize': (lambda img, a, f, r: ImageOps.equalize(img), None, 0),
    'Invert': (lambda img, a, f, r: ImageOps.invert(img), None, 0),
    'Rotate': (lambda img, a, f, r: img.rotate(a, resample=r, fillcolor=f),
               lambda m: m / 10 * 30., 1),
    'PosterizeIncreasing': (lambda img, a, f, r: _posterize(img, a),
                            lambda m: 4 - int(m / 10 * 4), 0),
    'SolarizeIncreasing': (lambda img, a, f, r: ImageOps.solarize(img, a),
                           lambda m: 256 - int(m / 10 * 256), 0),
    'SolarizeAdd': (lambda img, a, f, r: _solarize_add(img, a),
                    lambda m: int(m / 10 * 110), 0),
    'ColorIncreasing': (
        lambda img, a, f, r: ImageEnhance.Color(img).enhance(a),
        lambda m: m / 10 * .9, 1),
    'ContrastIncreasing': (
        lambda img, a, f, r: ImageEnhance.Contrast(img).enhance(a),
        lambda m: m / 10 * .9, 1),
    'BrightnessIncreasing': (
        lambda img, a, f, r: ImageEnhance.Brightness(img).enhance(a),
        lambda m: m / 10 * .9, 1),
    'SharpnessIncreasing': (
        lambda img, a, f, r: ImageEnhance.Sharpness(img).enhance(a),
        lambda m: m / 10 * .9, 1),
    'ShearX': (lambda img, a, f, r: _affine(img, (1, a, 0, 0, 1, 0), f, r),
               lambda m: m / 10 * .3, 1),
    'ShearY': (lambda img, a, f, r: _affine(img, (1, 0, 0, a, 1, 0), f, r),
               lambda m: m / 10 * .3, 1),
    'TranslateXRel': (lambda img, a, f, r: _affine(
        img, (1, 0, a * img.size[0], 0, 1, 0), f, r),
                      lambda m: m / 10 * .45, 1),
    'TranslateYRel': (lambda img, a, f, r: _affine(
        img, (1, 0, 0, 0, 1, a * img.size[1]), f, r),
                      lambda m: m / 10 * .45, 1),
}
# enhancement factors are 1 +/- level: the sign picks darker or brighter
_ENHANCE = ('ColorIncreasing', 'ContrastIncreasing', 'BrightnessIncreasing',
            'SharpnessIncreasing')


def frames_array(frames: Sequence[np.ndarray]) -> Optional[np.ndarray]:
    """The C-contiguous ``(T, H, W, 3)`` array that ``frames`` are the
    frames of, in order (as ``list(clip)`` in mmaction2's ``DecordDecode``
    makes them), or None."""
    if isinstance(frames, np.ndarray):
        return frames if frames.ndim == 4 and frames.flags.c_contiguous \
            else None
    base = frames[0].base
    if not isinstance(base, np.ndarray) or not base.flags.c_contiguous or \
            base.shape != (len(frames), ) + frames[0].shape or \
            base.dtype != frames[0].dtype:
        return None
    for i, frame in enumerate(frames):
        if frame.base is not base or not frame.flags.c_contiguous or \
                frame.ctypes.data != base.ctypes.data + i * base.strides[0]:
            return None
    return base


@TRANSFORMS.register_module()
class VideoRandAugment(BaseTransform):
    """Apply ``num_ops`` random operations, each with probability ``prob``,
    identically to all frames of ``results['imgs']`` (list of ``(H, W, 3)``
    uint8 RGB arrays; the output is a list of views of one ``(T, H, W, 3)``
    array with the cv2 backend).

    Args:
        magnitude (float): Mean magnitude on a 0-10 scale (7 in VideoMAE).
        num_ops (int): Operations drawn (with replacement) per clip (4).
        magnitude_std (float): Std of the Gaussian noise added to the
            magnitude per operation, clipped to [0, 10] (0.5).
        prob (float): Probability to apply each drawn operation (0.5).
        ops (Sequence[str]): Operation names; default all in ``_OPS``.
        fill (Sequence[int]): RGB fill of geometric ops: grey 128, as the
            VideoMAE recipe (its RandAugment parameters carry no image
            mean, so the timm-style ops fill with their default grey).
        interpolation (str): Of geometric ops: 'bicubic' (the VideoMAE
            recipe) or 'bilinear' (cv2 rotations about 3x faster).
        backend (str): 'cv2' (fast, whole clip at once) or 'pil' (the
            reference). Both draw the same random numbers.
        crop (dict, optional): The crop that follows RandAugment, e.g.
            ``dict(type='RandomResizedCrop', area_range=(0.08, 1.0))``
            (mmaction2's ``RandomCrop`` family, not lazy). It chooses its
            box from the frame size first and the cv2 ops compute only what
            the box keeps (``rand_augment_region.py``): the same clips and
            random draws as the two steps one after the other, faster.
    """

    def __init__(self,
                 magnitude: float = 7.,
                 num_ops: int = 4,
                 magnitude_std: float = 0.5,
                 prob: float = 0.5,
                 ops: Sequence[str] = tuple(_OPS),
                 fill: Sequence[int] = (128, 128, 128),
                 interpolation: str = 'bicubic',
                 backend: str = 'cv2',
                 crop: Optional[dict] = None) -> None:
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
        if backend not in BACKENDS:
            raise ValueError(f'VideoRandAugment.backend must be one of '
                             f'{BACKENDS}, got {backend!r}')
        if interpolation not in INTERPOLATIONS:
            raise ValueError('VideoRandAugment.interpolation must be one of '
                             f'{tuple(INTERPOLATIONS)}, got '
                             f'{interpolation!r}')
        if len(fill) != 3:
            raise ValueError('VideoRandAugment.fill must be 3 RGB values, '
                             f'got {fill}')
        self.magnitude, self.num_ops = magnitude, num_ops
        self.magnitude_std, self.prob = magnitude_std, prob
        self.ops, self.fill = list(ops), tuple(int(v) for v in fill)
        self.interpolation, self.backend = interpolation, backend
        self.crop = None if crop is None else TRANSFORMS.build(crop)
        if crop is not None and (not isinstance(self.crop, RandomCrop)
                                 or getattr(self.crop, 'lazy', False)):
            raise ValueError(
                'VideoRandAugment.crop must be a non-lazy crop of '
                "mmaction2's RandomCrop family (RandomCrop, "
                f'RandomResizedCrop, MultiScaleCrop, CenterCrop), got {crop}')

    def sample_ops(self,
                   rng=np.random) -> List[Tuple[str, Optional[float]]]:
        """Draw the per-clip operations as ``(name, arg)`` pairs."""
        chosen = []
        for name in rng.choice(self.ops, self.num_ops):
            if rng.rand() >= self.prob:
                continue
            _, level_to_arg, signed = _OPS[name]
            level = self.magnitude
            if self.magnitude_std > 0:
                level = rng.normal(level, self.magnitude_std)
            level = float(np.clip(level, 0, _MAX_LEVEL))
            arg = level_to_arg(level) if level_to_arg else None
            if signed:
                arg = _signed(arg, rng)
            if name in _ENHANCE:
                arg = 1. + arg
            chosen.append((str(name), arg))
        return chosen

    def apply_pil(self, frame: np.ndarray,
                  ops: Sequence[Tuple[str, Optional[float]]]) -> np.ndarray:
        """The reference backend: ``ops`` on one ``(H, W, 3)`` frame."""
        img = Image.fromarray(frame)
        resample = _PIL_RESAMPLE[self.interpolation]
        for name, arg in ops:
            img = _OPS[name][0](img, arg, self.fill, resample)
        return np.asarray(img)

    def apply_cv2(self, clip: np.ndarray,
                  ops: Sequence[Tuple[str, Optional[float]]]) -> np.ndarray:
        """The fast backend: ``ops`` on a ``(T, H, W, 3)`` clip, which it
        overwrites (if C-contiguous)."""
        clip = np.ascontiguousarray(clip)  # ops edit (T * H, W, 3) views
        for name, arg in ops:
            clip = CV2_OPS[name](clip, arg, self.fill, self.interpolation)
        return clip

    def transform(self, results: dict) -> dict:
        """Augment ``results['imgs']`` (new frames; the input is kept), then
        crop them with ``crop`` if given."""
        ops = self.sample_ops()
        frames = results['imgs']
        for frame in frames:
            if frame.dtype != np.uint8 or frame.ndim != 3 or \
                    frame.shape[2] != 3:
                raise ValueError('VideoRandAugment needs uint8 (H, W, 3) '
                                 f'frames, got {frame.dtype} {frame.shape}')
        if ops and len(frames) and self.backend == 'pil':
            results['imgs'] = [self.apply_pil(frame, ops) for frame in frames]
        elif ops and len(frames):
            if len({frame.shape for frame in frames}) > 1:
                raise ValueError('VideoRandAugment: frames of one clip must '
                                 'have the same shape, got '
                                 f'{sorted({f.shape for f in frames})}')
            if self.crop is not None:
                return self._augment_in_crop(results, frames, ops)
            # np.stack copies: the clip is ours to edit
            results['imgs'] = list(self.apply_cv2(np.stack(frames), ops))
        return results if self.crop is None else self.crop(results)

    def _augment_in_crop(self, results: dict, frames: Sequence[np.ndarray],
                         ops: Sequence[Tuple[str, Optional[float]]]) -> dict:
        """The crop's box and bookkeeping first (it looks at the frame size
        only), then the ops on what the box keeps, read from the frames
        without copying them where they are one array's frames in order
        (a decoded clip), and never written."""
        clip = frames_array(frames)
        owned = clip is None
        if owned:
            clip = np.stack(frames)
        if tuple(results['img_shape']) != clip.shape[1:3]:
            raise ValueError(f"VideoRandAugment: img_shape "
                             f"{tuple(results['img_shape'])} is not the "
                             f'frame size {clip.shape[1:3]}')
        del results['imgs']
        results = self.crop(results)
        box = tuple(int(v) for v in results['crop_bbox'])
        results['imgs'] = list(apply_in_box(clip, ops, box, self.fill,
                                            self.interpolation, owned))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(magnitude={self.magnitude}, '
                f'num_ops={self.num_ops}, magnitude_std={self.magnitude_std}, '
                f'prob={self.prob}, interpolation={self.interpolation!r}, '
                f'backend={self.backend!r}, crop={self.crop!r})')
