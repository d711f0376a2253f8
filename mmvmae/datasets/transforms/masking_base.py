"""Shared part of the token masking transforms: arguments and token grid."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform


def check_mask_ratio(mask_ratio: float) -> float:
    """Return ``mask_ratio`` as a float, or raise if it is not in (0, 1)."""
    if isinstance(mask_ratio, bool) or not isinstance(mask_ratio,
                                                      (int, float)):
        raise TypeError('mask_ratio must be a number in the open interval '
                        f'(0, 1), got {mask_ratio!r}')
    if not 0 < mask_ratio < 1:
        raise ValueError('mask_ratio must be in the open interval (0, 1), '
                         f'got {mask_ratio}')
    return float(mask_ratio)


class BaseMasking(BaseTransform):
    """Draw a boolean token mask for one clip and store it in ``results``.

    The token grid ``(T', H', W') = (T / tubelet_size, H / patch_size,
    W / patch_size)`` comes from the clip itself: ``T`` is ``clip_len`` (or
    the number of frames when ``clip_len`` is absent), ``(H, W)`` the frame
    size. Place the transform after the last crop/resize and before
    ``FormatShape``. ``input_size=(T, H, W)`` may be given instead; it is then
    checked against the clip when the clip is available. :meth:`check_grid`
    (e.g. ``mask_ratio`` leaving at least 1 masked and 1 visible token) runs
    at construction when ``input_size`` is given, else on every clip.

    The mask is a numpy bool array of shape ``(N,)``, ``N = T'*H'*W'``,
    tokens in ``(t, h, w)`` order, stored under :attr:`output_key`.

    Args:
        mask_ratio: fraction of tokens to mask, in (0, 1).
        patch_size: spatial patch size in pixels. Defaults to 16.
        tubelet_size: temporal patch size in frames. Defaults to 2.
        input_size: optional ``(frames, height, width)`` of the clip.
    """

    output_key = 'mask'

    def __init__(self,
                 mask_ratio: float,
                 patch_size: int = 16,
                 tubelet_size: int = 2,
                 input_size: Optional[Sequence[int]] = None) -> None:
        self.mask_ratio = check_mask_ratio(mask_ratio)
        for name, value in (('patch_size', patch_size),
                            ('tubelet_size', tubelet_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f'{name} must be a positive int, got {value!r}')
        self.patch_size = patch_size
        self.tubelet_size = tubelet_size
        if input_size is not None:
            if len(input_size) != 3 or not all(
                    isinstance(v, int) and v > 0 for v in input_size):
                raise ValueError('input_size must be (frames, height, '
                                 f'width) of positive ints, got {input_size}')
            input_size = tuple(input_size)
            self.check_grid(self._grid_of(input_size, 'input_size'))
        self.input_size = input_size

    def _grid_of(self, size: Tuple[int, int, int],
                 source: str) -> Tuple[int, int, int]:
        frames, height, width = size
        if frames % self.tubelet_size or height % self.patch_size or \
                width % self.patch_size:
            raise ValueError(
                f'{type(self).__name__}: clip size (T, H, W)={size} from '
                f'{source} is not divisible by (tubelet_size, patch_size, '
                f'patch_size)=({self.tubelet_size}, {self.patch_size}, '
                f'{self.patch_size}); resize/crop the clip or change the '
                'patch sizes')
        return (frames // self.tubelet_size, height // self.patch_size,
                width // self.patch_size)

    def _clip_size(self, results: Dict) -> Optional[Tuple[int, int, int]]:
        """``(T, H, W)`` of the clip in ``results``, or None if unknown."""
        if 'input_shape' in results:  # set by FormatShape
            raise ValueError(f'{type(self).__name__} must come before '
                             'FormatShape in the pipeline')
        imgs = results.get('imgs')
        if imgs is not None and len(imgs) > 0:
            height, width = np.asarray(imgs[0]).shape[:2]
            num_frames = len(imgs)
        elif 'img_shape' in results and 'clip_len' in results:
            height, width = results['img_shape'][:2]
            num_frames = results['clip_len'] * results.get('num_clips', 1)
        else:
            return None
        if results.get('num_clips', 1) != 1:
            raise ValueError(
                f'{type(self).__name__} masks one clip per sample, got '
                f"num_clips={results['num_clips']}; use num_clips=1")
        clip_len = results.get('clip_len', num_frames)
        if clip_len != num_frames:
            raise ValueError(
                f'{type(self).__name__}: clip_len={clip_len} but the clip '
                f'has {num_frames} frames')
        return int(num_frames), int(height), int(width)

    def token_grid(self, results: Dict) -> Tuple[int, int, int]:
        """Return the token grid ``(T', H', W')`` of the clip in results."""
        clip_size = self._clip_size(results)
        if self.input_size is not None:
            if clip_size is not None and clip_size != self.input_size:
                raise ValueError(
                    f'{type(self).__name__}: input_size={self.input_size} '
                    f'but the clip is (T, H, W)={clip_size}')
            return self._grid_of(self.input_size, 'input_size')
        if clip_size is None:
            raise KeyError(
                f'{type(self).__name__} needs results["imgs"] (or '
                '"img_shape" and "clip_len") to infer the token grid; '
                'place it after decoding and resizing, or give input_size')
        return self._grid_of(clip_size, 'the clip')

    def _num_masked(self, num_tokens: int, unit: str) -> int:
        """``int(mask_ratio * num_tokens)``; raise unless it leaves at least 1
        masked and 1 visible of the ``num_tokens`` tokens of ``unit``."""
        num_masked = int(self.mask_ratio * num_tokens)
        if not 0 < num_masked < num_tokens:
            raise ValueError(
                f'{type(self).__name__}: mask_ratio {self.mask_ratio} masks '
                f'{num_masked} of the {num_tokens} tokens of {unit}; it must '
                'leave at least 1 masked and 1 visible')
        return num_masked

    def check_grid(self, grid: Tuple[int, int, int]) -> None:
        """Raise ValueError if no valid mask can be drawn on ``grid``."""

    def generate(self, grid: Tuple[int, int, int]) -> np.ndarray:
        """Return a bool mask of shape ``(T'*H'*W',)``."""
        raise NotImplementedError

    def transform(self, results: Dict) -> Dict:
        results[self.output_key] = self.generate(self.token_grid(results))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mask_ratio={self.mask_ratio}, '
                f'patch_size={self.patch_size}, '
                f'tubelet_size={self.tubelet_size}, '
                f'input_size={self.input_size})')
