"""Unreadable videos are skipped (logged once, counted) up to a limit;
short, grayscale and odd-sized videos are read."""
import shutil

import cv2
import numpy as np
import pytest

from mmvmae.datasets import VideoListDataset
from mmvmae.datasets.transforms import safe_video_decode
from mmvmae.datasets.transforms.safe_video_decode import TooManyBadVideos
from mmvmae.registry import TRANSFORMS

CLIP = dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1)


def write_video(path, frames, size=(64, 48), color=True):
    """An mp4 of ``frames`` frames of ``size`` (width, height)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             size, isColor=color)
    rng = np.random.default_rng(0)
    shape = (size[1], size[0]) + ((3, ) if color else ())
    for _ in range(frames):
        writer.write(rng.integers(0, 255, shape, dtype=np.uint8))
    writer.release()
    assert path.stat().st_size > 0
    return path


@pytest.fixture
def videos(tmp_path):
    good = write_video(tmp_path / 'good.mp4', 30)
    truncated = tmp_path / 'truncated.mp4'
    truncated.write_bytes(good.read_bytes()[:good.stat().st_size // 3])
    (tmp_path / 'empty.mp4').write_bytes(b'')
    (tmp_path / 'notes.mp4').write_text('this is not a video\n' * 50)
    write_video(tmp_path / 'short.mp4', 3)
    write_video(tmp_path / 'gray.mp4', 20, color=False)
    write_video(tmp_path / 'odd.mp4', 20, size=(37, 29))
    return tmp_path


def dataset(root, names, **safe):
    (root / 'list.txt').write_text('\n'.join(names) + '\n')
    pipeline = [
        dict(type='SafeVideoDecode',
             transforms=[dict(type='DecordInit'), CLIP,
                         dict(type='DecordDecode')], **safe),
        dict(type='Resize', scale=(32, 32), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]
    return VideoListDataset(ann_file=str(root / 'list.txt'),
                            data_prefix=dict(video=str(root)),
                            pipeline=pipeline)


@pytest.mark.parametrize('name', ['missing.mp4', 'empty.mp4', 'notes.mp4',
                                  'truncated.mp4'])
def test_unreadable_video_returns_none_and_is_logged_once(
        videos, name, monkeypatch):
    logged = []
    monkeypatch.setattr(safe_video_decode, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    safe = TRANSFORMS.build(dict(
        type='SafeVideoDecode', transforms=[dict(type='DecordInit'), CLIP,
                                            dict(type='DecordDecode')]))
    path = str(videos / name)
    if name == 'truncated.mp4':
        # decord may open a cut mp4 and fail only on some frames: reading
        # the whole file must fail, or give frames
        safe.steps.transforms[1] = TRANSFORMS.build(dict(
            CLIP, clip_len=30, frame_interval=1))
    outs = [safe(dict(filename=path, start_index=0, modality='RGB'))
            for _ in range(2)]
    if outs[0] is not None:  # decodable part of a truncated file
        assert name == 'truncated.mp4' and len(outs[0]['imgs']) == 30
        return
    assert outs == [None, None]
    assert safe.num_failures == 2 and safe.bad_paths == [path]
    assert len(logged) == 1 and path in logged[0]


def test_training_dataset_skips_bad_videos(videos):
    names = ['good.mp4', 'missing.mp4', 'empty.mp4', 'notes.mp4',
             'short.mp4', 'gray.mp4', 'odd.mp4']
    data = dataset(videos, names, max_bad_fraction=0.9)
    for index in range(len(data)):
        sample = data[index]  # bad ones are replaced by another draw
        assert tuple(sample['inputs'].shape) == (1, 3, 8, 32, 32)
    safe = data.pipeline.transforms[0]
    bad = {str(videos / n) for n in ('missing.mp4', 'empty.mp4',
                                     'notes.mp4')}
    assert set(safe.bad_paths) == bad
    assert safe.num_failures >= 3


def test_short_grayscale_and_odd_videos_are_read(videos):
    data = dataset(videos, ['short.mp4', 'gray.mp4', 'odd.mp4'])
    safe = data.pipeline.transforms[0]
    for name in ('short.mp4', 'gray.mp4', 'odd.mp4'):
        info = dict(filename=str(videos / name), start_index=0,
                    modality='RGB')
        out = safe(info)
        assert out is not None, name
        assert len(out['imgs']) == 8 and out['imgs'][0].shape[2] == 3
        if name == 'short.mp4':  # 3 frames for a 16-frame span: looped
            assert out['total_frames'] == 3
            assert set(out['frame_inds'].tolist()) <= {0, 1, 2}
        if name == 'odd.mp4':  # 37x29 (mp4v stores 36x28): not 16-aligned
            height, width = out['imgs'][0].shape[:2]
            assert height % 16 and width % 16 and height != width
    assert safe.num_failures == 0


def test_too_many_bad_videos_stop_with_a_clear_error(videos):
    names = ['missing.mp4', 'empty.mp4', 'notes.mp4', 'good.mp4']
    data = dataset(videos, names, max_bad_fraction=0.2, min_reads=10)
    with pytest.raises(TooManyBadVideos, match='max_bad_fraction=0.2'):
        for index in range(len(data) * 10):
            data[index % len(data)]


class _Reads:
    """Stands in for the reading steps: a result per path."""

    def __init__(self, outcomes):
        self.outcomes = outcomes

    def __call__(self, results):
        outcome = self.outcomes[results['filename']]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def _safe(outcomes, **kwargs):
    safe = TRANSFORMS.build(dict(type='SafeVideoDecode', transforms=[CLIP],
                                 **kwargs))
    safe.steps = _Reads(outcomes)
    return safe


def test_failure_kinds_and_the_bad_fraction_boundary():
    """An error, no frames and a step returning None all count as a bad
    read; the run stops only when failures exceed the fraction, once
    ``min_reads`` reads were made."""
    good = dict(imgs=[np.zeros((2, 2, 3), np.uint8)])
    safe = _safe({'ok': good, 'raise': OSError('truncated'),
                  'empty': dict(imgs=[]), 'none': None},
                 max_bad_fraction=0.75, min_reads=1)
    assert safe(dict(filename='ok')) is good
    for path in ('raise', 'empty', 'none'):
        assert safe(dict(filename=path)) is None
    assert safe.num_failures == 3 and safe.bad_paths == ['raise', 'empty',
                                                          'none']
    # 1 of 2 reads failed: exactly the fraction 0.5 is still allowed
    half = _safe({'ok': good, 'bad': OSError()}, max_bad_fraction=0.5,
                 min_reads=2)
    half(dict(filename='ok'))
    assert half(dict(filename='bad')) is None
    # with min_reads=2 the check starts at the 2nd read
    strict = _safe({'bad': OSError()}, max_bad_fraction=0., min_reads=2)
    assert strict(dict(filename='bad')) is None
    with pytest.raises(TooManyBadVideos, match='2 of 2 video reads'):
        strict(dict(filename='bad'))


def test_bad_arguments():
    for bad in (dict(transforms=[]),
                dict(transforms=[CLIP], max_bad_fraction=1.0),
                dict(transforms=[CLIP], min_reads=0)):
        with pytest.raises(ValueError, match='SafeVideoDecode'):
            TRANSFORMS.build(dict(type='SafeVideoDecode', **bad))


def test_missing_dataset_file_is_named(tmp_path):
    shutil.rmtree(tmp_path)
    with pytest.raises(FileNotFoundError, match='list.txt'):
        VideoListDataset(ann_file=str(tmp_path / 'list.txt'), pipeline=[])


def test_repeated_sampling_decodes_once_and_skips_bad_videos(videos):
    from mmvmae.datasets import RepeatedSamplingDataset
    data = dataset(videos, ['good.mp4', 'missing.mp4'],
                   max_bad_fraction=0.9)
    repeated = RepeatedSamplingDataset(data, num_repeats=2)
    assert type(repeated.shared_transforms[-1]).__name__ == \
        'SafeVideoDecode'
    for index in range(2):
        copies = repeated[index]
        assert [tuple(c['inputs'].shape) for c in copies] == \
            [(1, 3, 8, 32, 32)] * 2
