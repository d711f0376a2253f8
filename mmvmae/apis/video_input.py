"""Turn a video (a file or an array of frames) into one model input sample.

The pipelines come from the model's config: the test pipeline for
multi-view inference, or a single centre view derived from whichever
pipeline gives the clip sampling (used for features and reconstruction).
A file goes through the pipeline's own reader; an array of frames replaces
the reader steps with mmaction2's ``ArrayDecode``.
"""
import copy
import os
import os.path as osp
from typing import List, Sequence, Tuple, Union

import numpy as np
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

VideoInput = Union[str, bytes, os.PathLike, np.ndarray,
                   Sequence[np.ndarray]]

_INIT_STEPS = ('DecordInit', 'OpenCVInit', 'PyAVInit', 'PIMSInit')
_DECODE_STEPS = ('DecordDecode', 'OpenCVDecode', 'PyAVDecode', 'PIMSDecode')
# steps of a training pipeline that have no place at inference
_TRAIN_ONLY = ('MultiScaleCrop', 'RandomResizedCrop', 'RandomCrop',
               'VideoRandAugment', 'VideoRandomErasing', 'TubeMasking',
               'RandomMasking', 'RunningCellMasking')
_SAMPLERS = ('SampleFrames', 'UniformSample')


class VideoReadError(RuntimeError):
    """A video file exists but cannot be decoded."""


def open_video(path: str):
    """A ``decord.VideoReader`` on ``path``, with errors that say what is
    wrong with the file (``DecordInit`` also opens local files by path, see
    ``fix_decord_memory_reads`` in ``mmvmae.utils.upstream_fixes``).

    Raises:
        FileNotFoundError: no file at ``path``.
        VideoReadError: decord cannot read it, or it has no frames.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'video: no file at {path}')
    import decord
    try:
        reader = decord.VideoReader(path, num_threads=1)
    except Exception as error:  # decord raises its own DECORDError
        raise VideoReadError(
            f'video: cannot decode {path} ({type(error).__name__}: '
            f'{str(error).splitlines()[0] if str(error) else ""}); is it a '
            'video file decord/ffmpeg can read?') from None
    if len(reader) < 1:
        raise VideoReadError(f'video: {path} has no frames')
    return reader


def check_video_file(path: str) -> int:
    """Frame count of a video file decord can read; see :func:`open_video`
    for the errors."""
    return len(open_video(path))


def check_frames(
        frames: Union[np.ndarray, Sequence[np.ndarray]]) -> np.ndarray:
    """Frames as a ``(T, H, W, 3)`` uint8 RGB array, or ``ValueError``."""
    if frames is None or (isinstance(frames, (list, tuple)) and any(
            isinstance(f, (str, bytes)) or hasattr(f, '__fspath__')
            for f in frames)):
        raise ValueError('video: one video per call, as a file path or '
                         '(T, H, W, 3) uint8 RGB frames; got '
                         f'{type(frames).__name__}'
                         + (' of paths' if frames is not None else ''))
    if isinstance(frames, (list, tuple)):  # numpy: "inhomogeneous shape"
        shapes = [np.shape(frame) for frame in frames]
        for index, shape in enumerate(shapes):
            if shape != shapes[0]:
                raise ValueError(
                    'video: an array of frames must have shape (T, H, W, 3) '
                    f'with T >= 1 (RGB), got frame {index} of shape {shape} '
                    f'after frame 0 of shape {shapes[0]}')
    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.shape[0] < 1:
        raise ValueError('video: an array of frames must have shape (T, H, '
                         f'W, 3) with T >= 1 (RGB), got {array.shape}')
    if array.dtype != np.uint8:
        raise ValueError('video: frames must be uint8 RGB in [0, 255], got '
                         f'dtype {array.dtype}')
    return array


def _find_pipeline(cfg: Config, split: str) -> List[dict]:
    """``cfg.<split>_dataloader.dataset.pipeline`` (looking through wrapper
    datasets: what ``tools/test.py`` runs, ``--cfg-options`` included), else
    the ``cfg.<split>_pipeline`` variable; ``[]`` when there is none."""
    loader = cfg.get(f'{split}_dataloader') or {}
    dataset = loader.get('dataset') or {}
    while 'pipeline' not in dataset and isinstance(dataset.get('dataset'),
                                                   dict):
        dataset = dataset['dataset']
    return _flatten(dataset.get('pipeline') or
                    cfg.get(f'{split}_pipeline') or [])


def _flatten(pipeline: List[dict]) -> List[dict]:
    """Expand wrapper steps (``SafeVideoDecode(transforms=[...])``) into
    the steps they run."""
    steps = []
    for step in pipeline:
        inner = step.get('transforms')
        steps += _flatten(inner) if isinstance(inner, list) else [step]
    return steps


def test_pipeline_cfg(cfg: Config) -> List[dict]:
    """The config's test (or else val) pipeline."""
    for split in ('test', 'val'):
        pipeline = _find_pipeline(cfg, split)
        if pipeline:
            return copy.deepcopy(pipeline)
    raise ValueError(
        'config: no test or val pipeline (test_dataloader.dataset.pipeline, '
        'test_pipeline, val_...); add one, pass inference_recognizer(..., '
        'pipeline=[...]), or take single-view features '
        "(extract_features(..., views='single'), tools/extract_features.py "
        '--views single)')


def single_view_pipeline_cfg(cfg: Config,
                             input_size: Tuple[int, int]) -> List[dict]:
    """One clip, one centre crop of ``input_size`` ``(H, W)``.

    Reader and sampler settings (``SampleFrames``: ``clip_len``,
    ``frame_interval``; or ``UniformSample``) come from the test, val or
    train pipeline, in that order.
    """
    for split in ('test', 'val', 'train'):
        pipeline = _find_pipeline(cfg, split)
        sampler = [s for s in pipeline if s.get('type') in _SAMPLERS]
        if sampler:
            break
    else:
        raise ValueError(f'config: no pipeline with a {_SAMPLERS} step to '
                         'take the clip sampling from')
    sampler = dict(copy.deepcopy(sampler[0]), num_clips=1, test_mode=True)
    init = [s for s in pipeline if s.get('type') in _INIT_STEPS]
    decode = [s for s in pipeline if s.get('type') in _DECODE_STEPS]
    height, width = input_size
    # short side to the larger crop side, so the centre crop always fits
    resize = dict(type='Resize', scale=(-1, max(height, width)))
    return [
        *(init or [dict(type='DecordInit')]), sampler,
        *(decode or [dict(type='DecordDecode')]), resize,
        dict(type='CenterCrop', crop_size=(width, height)),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]


def _for_array(pipeline: List[dict]) -> List[dict]:
    """Replace the reader steps by ``ArrayDecode``."""
    steps = [s for s in pipeline if s.get('type') not in _INIT_STEPS]
    decoders = [i for i, s in enumerate(steps)
                if s.get('type') in _DECODE_STEPS]
    if len(decoders) != 1:
        raise ValueError('pipeline: expected exactly one decode step '
                         f'{_DECODE_STEPS} to replace for array input, got '
                         f'{[s.get("type") for s in steps]}')
    steps[decoders[0]] = dict(type='ArrayDecode')
    return steps


def prepare_inputs(cfg: Config, video: VideoInput,
                   pipeline: List[dict]) -> dict:
    """Run ``pipeline`` on a video file or ``(T, H, W, 3)`` RGB frames and
    collate it to a batch of one (``inputs`` ``[(V, C, T, H, W)]`` uint8,
    ``data_samples``)."""
    bad = [s['type'] for s in pipeline if s.get('type') in _TRAIN_ONLY]
    if bad:
        raise ValueError(f'pipeline: training-only steps {bad} in an '
                         'inference pipeline')
    init_default_scope(cfg.get('default_scope', 'mmvmae'))
    if isinstance(video, (str, bytes)) or hasattr(video, '__fspath__'):
        path = osp.expanduser(os.fsdecode(video))  # bytes, as os does
        data = dict(filename=path, label=-1, start_index=0, modality='RGB')
        if any(s.get('type') == 'DecordInit' for s in pipeline):
            reader = open_video(path)  # replaces DecordInit: clearer errors
            pipeline = [s for s in pipeline if s.get('type') != 'DecordInit']
            data.update(video_reader=reader, total_frames=len(reader),
                        avg_fps=reader.get_avg_fps())
        else:
            check_video_file(path)
    else:
        frames = check_frames(video)
        pipeline = _for_array(pipeline)
        data = dict(array=frames, total_frames=len(frames), label=-1,
                    start_index=0, modality='RGB')
    try:
        sample = Compose(pipeline)(data)
    except Exception as error:
        if 'filename' not in data or 'decord' not in type(error).__module__:
            raise
        # a header decord opens but frames it cannot decode
        raise VideoReadError(f'video: decoding {data["filename"]} failed '
                             f'({error})') from None
    return pseudo_collate([sample])
