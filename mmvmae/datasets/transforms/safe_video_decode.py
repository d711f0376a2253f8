"""Skip unreadable videos instead of stopping the run, up to a limit."""
import logging
from typing import Dict, List, Optional

from mmcv.transforms import BaseTransform, Compose
from mmengine.logging import print_log

from mmvmae.registry import TRANSFORMS


class TooManyBadVideos(RuntimeError):
    """More videos failed to read than ``max_bad_fraction`` allows."""


@TRANSFORMS.register_module()
class SafeVideoDecode(BaseTransform):
    """Run the reading steps of a pipeline; on failure return None.

    Wrap the steps that open, sample and decode a video (e.g. ``DecordInit``,
    ``SampleFrames``, ``DecordDecode``). If one raises (a missing, empty,
    truncated or non-video file) or yields no frames, the path is logged once
    (per process) and None is returned, so mmengine's ``BaseDataset`` (and
    ``RepeatedSamplingDataset``) draw another sample. Each process counts its
    reads; once ``min_reads`` were made and more than ``max_bad_fraction`` of
    them failed, :class:`TooManyBadVideos` stops the run with the first bad
    paths. Videos shorter than the clip span are not failures: mmaction2's
    ``SampleFrames`` loops them (``out_of_bound_opt='loop'``).

    The name ends with ``Decode`` so ``RepeatedSamplingDataset`` shares it
    (decodes once) and augments the copies after it.

    Args:
        transforms: the reading steps (configs or transforms).
        max_bad_fraction: largest tolerated fraction of failed reads, in
            [0, 1). Defaults to 0.1.
        min_reads: reads before the fraction is checked. Defaults to 20.
    """

    def __init__(self,
                 transforms: List,
                 max_bad_fraction: float = 0.1,
                 min_reads: int = 20) -> None:
        if not transforms:
            raise ValueError('SafeVideoDecode.transforms must list the '
                             'reading steps, e.g. DecordInit, SampleFrames, '
                             'DecordDecode')
        if not 0 <= max_bad_fraction < 1:
            raise ValueError('SafeVideoDecode.max_bad_fraction must be in '
                             f'[0, 1), got {max_bad_fraction}')
        if not isinstance(min_reads, int) or min_reads < 1:
            raise ValueError('SafeVideoDecode.min_reads must be a positive '
                             f'int, got {min_reads!r}')
        self.steps = Compose(transforms)
        self.max_bad_fraction = max_bad_fraction
        self.min_reads = min_reads
        self.reads = 0
        self.num_failures = 0
        self.bad_paths: List[str] = []  # in the order they failed

    def transform(self, results: Dict) -> Optional[Dict]:
        path = str(results.get('filename', results.get('frame_dir', '?')))
        self.reads += 1
        try:
            out = self.steps(results)
            if out is not None and not len(out.get('imgs', ())):
                raise ValueError('no frames decoded')
        except Exception as error:  # any reader error means "bad video"
            self._failed(path, f'{type(error).__name__}: {str(error)[:200]}')
            return None
        if out is None:
            self._failed(path, 'a reading step returned None')
        return out

    def _failed(self, path: str, why: str) -> None:
        if path not in self.bad_paths:
            self.bad_paths.append(path)
            print_log(f'SafeVideoDecode: skipped unreadable video {path} '
                      f'({why})', logger='current', level=logging.WARNING)
        self.num_failures += 1
        failures = self.num_failures
        if self.reads >= self.min_reads and \
                failures > self.max_bad_fraction * self.reads:
            raise TooManyBadVideos(
                f'{failures} of {self.reads} video reads failed in this '
                f'process, more than max_bad_fraction='
                f'{self.max_bad_fraction}; first bad files: '
                f'{self.bad_paths[:5]}. Fix or remove them from the '
                'annotation list, or raise SafeVideoDecode.max_bad_fraction')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(steps={self.steps}, '
                f'max_bad_fraction={self.max_bad_fraction}, '
                f'min_reads={self.min_reads})')
