"""Sample the AVA clip around a keyframe straight from a video file."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform

from mmvmae.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SampleAVAVideoFrames(BaseTransform):
    """Frame indices of the ``clip_len x frame_interval`` clip centred on an
    AVA keyframe, for a video opened by ``DecordInit``.

    mmaction2's ``SampleAVAFrames`` counts in frames of the 30 fps raw-frame
    dump; here the keyframe is found from the video's own frame rate:
    ``centre = round((timestamp - timestamp_start) * avg_fps)``, and the
    interval is rescaled from ``base_fps`` to it, so a 16x4 clip spans the
    same 2.1 s whatever the video's rate. Indices are clamped to the video.

    Required keys: ``timestamp``, ``timestamp_start`` (second at which the
    video file starts: 900 for mmaction2's 15-minute cuts, 0 for the full
    videos), ``avg_fps``, ``total_frames``. Added: ``frame_inds``,
    ``clip_len``, ``frame_interval``, ``num_clips``, ``crop_quadruple``.

    Args:
        clip_len: frames per clip.
        frame_interval: stride in frames at ``base_fps``.
        base_fps: frame rate ``frame_interval`` refers to (AVA dumps: 30).
        test_mode: no random jitter of the sampled frames.
    """

    def __init__(self,
                 clip_len: int = 16,
                 frame_interval: int = 4,
                 base_fps: float = 30.,
                 test_mode: bool = False) -> None:
        if clip_len < 1 or frame_interval < 1 or base_fps <= 0:
            raise ValueError('SampleAVAVideoFrames needs clip_len >= 1, '
                             'frame_interval >= 1 and base_fps > 0, got '
                             f'{clip_len}, {frame_interval}, {base_fps}')
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.base_fps = base_fps
        self.test_mode = test_mode

    def transform(self, results: Dict) -> Dict:
        for key in ('timestamp', 'timestamp_start', 'avg_fps', 'total_frames'):
            if key not in results:
                raise KeyError(f'SampleAVAVideoFrames needs results[{key!r}] '
                               '(put DecordInit before it)')
        fps, total = float(results['avg_fps']), int(results['total_frames'])
        seconds = results['timestamp'] - results['timestamp_start']
        centre = seconds * fps
        if not 0 <= centre < total + fps:  # allow the video's last second
            raise ValueError(
                f"keyframe {results.get('img_key', results['timestamp'])} "
                f'lies at {seconds:g} s, outside the video '
                f"{results.get('filename', '')} ({total} frames at {fps:g} "
                'fps); check timestamp_start (second where the file starts)')
        interval = self.frame_interval * fps / self.base_fps
        offsets = np.arange(self.clip_len) - self.clip_len // 2
        positions = centre + offsets * interval
        if not self.test_mode:
            # jitter each frame within half an interval; mmaction2's
            # SampleAVAFrames draws integers in [-i // 2, (i + 1) // 2) on
            # extracted frames, here the interval may be fractional
            positions += np.random.uniform(-interval / 2, interval / 2,
                                           self.clip_len)
        frame_inds = np.clip(np.round(positions), 0, total - 1)
        results['frame_inds'] = frame_inds.astype(np.int64)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = 1
        results['crop_quadruple'] = np.array([0, 0, 1, 1], dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, '
                f'base_fps={self.base_fps}, test_mode={self.test_mode})')
