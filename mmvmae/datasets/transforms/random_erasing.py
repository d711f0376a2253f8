"""Random erasing for clips, per frame (as VideoMAE fine-tuning) or per clip.

mmaction2's ``RandomErasing`` erases one box for the whole clip and fills
with a constant or uniform noise. The VideoMAE recipe (timm's erasing on a
``(T, C, H, W)`` clip, ``mode='pixel'``) draws an independent decision and
box for every frame and fills with per-pixel Gaussian noise in normalised
space, i.e. ``mean + std * N(0, 1)`` in pixels; this reproduces that and
keeps the per-clip variant as an option.
"""
import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmvmae.registry import TRANSFORMS


@TRANSFORMS.register_module()
class VideoRandomErasing(BaseTransform):
    """Erase a random box with Gaussian pixel noise.

    Works on ``results['imgs']``: a list of ``(H, W, C)`` uint8 or float
    frames in pixel scale (before normalisation).

    Args:
        erase_prob (float): Probability to erase (0.25 in VideoMAE).
        per_frame (bool): Independent decision and box per frame (True, as
            VideoMAE) or one box for every frame.
        min_area, max_area (float): Box area range as a fraction of H*W.
        aspect_range (tuple): Aspect ratio range, sampled in log space.
        mean, std (Sequence[float]): Pixel statistics of the fill noise.
        max_attempts (int): Tries to find a box that fits.
    """

    def __init__(self,
                 erase_prob: float = 0.25,
                 per_frame: bool = True,
                 min_area: float = 0.02,
                 max_area: float = 1 / 3,
                 aspect_range: Tuple[float, float] = (0.3, 1 / 0.3),
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 max_attempts: int = 10) -> None:
        if not 0 <= erase_prob <= 1 or not 0 < min_area <= max_area <= 1:
            raise ValueError(
                'VideoRandomErasing: need 0 <= erase_prob <= 1 and '
                f'0 < min_area <= max_area <= 1, got {erase_prob}, '
                f'{min_area}, {max_area}')
        if not 0 < aspect_range[0] <= aspect_range[1]:
            raise ValueError('VideoRandomErasing.aspect_range must be '
                             f'(low, high) with 0 < low <= high, got '
                             f'{aspect_range}')
        self.erase_prob, self.per_frame = erase_prob, per_frame
        self.min_area, self.max_area = min_area, max_area
        self.log_aspect = (math.log(aspect_range[0]),
                           math.log(aspect_range[1]))
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.max_attempts = max_attempts

    def sample_box(self, h: int, w: int) -> Optional[Tuple[int, int, int,
                                                            int]]:
        """(top, left, box_h, box_w), or None when no box fits."""
        for _ in range(self.max_attempts):
            area = h * w * np.random.uniform(self.min_area, self.max_area)
            aspect = math.exp(np.random.uniform(*self.log_aspect))
            bh = int(round(math.sqrt(area * aspect)))
            bw = int(round(math.sqrt(area / aspect)))
            if 0 < bh < h and 0 < bw < w:
                return (np.random.randint(0, h - bh + 1),
                        np.random.randint(0, w - bw + 1), bh, bw)
        return None

    def _erase(self, frame: np.ndarray, box) -> np.ndarray:
        """A copy of ``frame`` (H, W, C) with ``box`` set to noise: OpenCV's
        ``randn`` writes ``mean + std * N(0, 1)`` straight into the box,
        rounded and saturated for uint8 (2-3x cheaper than numpy's float32
        draws followed by the scaling, rounding and clipping)."""
        top, left, bh, bw = box
        channels = frame.shape[2]
        frame = frame.copy()
        cv2.randn(frame[top:top + bh, left:left + bw],
                  self.mean[:channels], self.std[:channels])
        return frame

    @staticmethod
    def _seed_noise() -> None:
        # OpenCV's (thread-local) generator, seeded from the global numpy
        # state: seeded runs stay reproducible
        cv2.setRNGSeed(np.random.randint(2**31))

    def transform(self, results: dict) -> dict:
        """Erase boxes in ``results['imgs']``; frames left alone are not
        copied."""
        imgs = list(results['imgs'])
        h, w, channels = imgs[0].shape
        if channels > 4:
            raise ValueError('VideoRandomErasing: frames need 1-4 channels, '
                             f'got {imgs[0].shape}')
        seeded = False
        if self.per_frame:
            for i, frame in enumerate(imgs):
                if np.random.rand() < self.erase_prob:
                    box = self.sample_box(h, w)
                    if box is not None:
                        if not seeded:
                            self._seed_noise()
                            seeded = True
                        imgs[i] = self._erase(frame, box)
        elif np.random.rand() < self.erase_prob:
            box = self.sample_box(h, w)
            if box is not None:
                self._seed_noise()
                imgs = [self._erase(frame, box) for frame in imgs]
        results['imgs'] = imgs
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(erase_prob={self.erase_prob}, '
                f'per_frame={self.per_frame})')
