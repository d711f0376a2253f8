"""VideoRandAugment(crop=...): the ops computing only what the crop keeps
must give the clips of RandAugment on whole frames followed by the crop,
with the same random draws and crop bookkeeping."""
import random

import cv2
import numpy as np
import pytest

import mmvmae
from mmvmae.datasets.transforms import rand_augment_region as region
from mmvmae.datasets.transforms.rand_augment import _OPS, VideoRandAugment
from mmvmae.registry import TRANSFORMS

CROP = dict(type='RandomResizedCrop', area_range=(0.08, 1.0))
WARPS = ('Rotate', )  # OpenCV rounds a boxed warp's coordinates apart


def clip_of(frames=4, height=48, width=64, seed=0) -> np.ndarray:
    """Smooth random colours (so interpolation matters), some saturation."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(128, 90, (frames, height, width, 3))
    smooth = np.stack([cv2.GaussianBlur(f, (7, 7), 2) for f in noise])
    return np.clip(smooth, 0, 255).round().astype(np.uint8)


def run(steps, clip, seed):
    """``steps`` on ``clip`` with the random state of ``seed``."""
    np.random.seed(seed)
    random.seed(seed)
    results = dict(imgs=list(clip.copy()), img_shape=clip.shape[1:3],
                   original_shape=clip.shape[1:3])
    for step in steps:
        results = step(results)
    return results


def assert_same_clips(seq: dict, fused: dict, exact: bool) -> None:
    a, b = np.stack(seq['imgs']), np.stack(fused['imgs'])
    assert a.shape == b.shape
    np.testing.assert_array_equal(seq['crop_bbox'], fused['crop_bbox'])
    assert seq['img_shape'] == fused['img_shape'] == a.shape[1:3]
    np.testing.assert_array_equal(seq['crop_quadruple'],
                                  fused['crop_quadruple'])
    diff = np.abs(a.astype(int) - b)
    if exact:
        assert diff.max() == 0
    else:  # one level on a few values: OpenCV's fixed-point coordinates
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


@pytest.fixture(autouse=True)
def registered():
    mmvmae.register_all_modules()


@pytest.mark.parametrize('interpolation', ['bicubic', 'bilinear'])
@pytest.mark.parametrize('op', list(_OPS))
def test_each_op_then_crop(op, interpolation):
    kw = dict(ops=[op], num_ops=1, prob=1., interpolation=interpolation)
    seq = [VideoRandAugment(**kw), TRANSFORMS.build(CROP)]
    fused = [VideoRandAugment(crop=CROP, **kw)]
    clip = clip_of()
    for seed in range(6):
        assert_same_clips(run(seq, clip, seed), run(fused, clip, seed),
                          exact=op not in WARPS)


@pytest.mark.parametrize('crop', [
    CROP,
    dict(type='RandomCrop', size=24),
    dict(type='MultiScaleCrop', input_size=32, scales=(1, .875, .75)),
    dict(type='CenterCrop', crop_size=30),
])
def test_recipe_sequences(crop):
    """The recipe's m7 n4 mstd0.5; exact where no op warps in 2-D."""
    kw = dict(magnitude=7, num_ops=4, magnitude_std=0.5)
    no_warps = [op for op in _OPS if op not in WARPS]
    clip = clip_of(frames=3, seed=1)
    for ops, exact in ((list(_OPS), False), (no_warps, True)):
        seq = [VideoRandAugment(ops=ops, **kw), TRANSFORMS.build(crop)]
        fused = [VideoRandAugment(ops=ops, crop=crop, **kw)]
        for seed in range(40):
            assert_same_clips(run(seq, clip, seed), run(fused, clip, seed),
                              exact)


def test_pil_backend_and_no_ops_crop_whole_frames():
    clip = clip_of(frames=2)
    for kw in (dict(backend='pil', num_ops=4, prob=1.), dict(prob=0.)):
        seq = [VideoRandAugment(**kw), TRANSFORMS.build(CROP)]
        fused = [VideoRandAugment(crop=CROP, **kw)]
        for seed in range(3):
            assert_same_clips(run(seq, clip, seed), run(fused, clip, seed),
                              exact=True)


def test_output_boxes():
    frame, box = (0, 0, 50, 40), (10, 12, 20, 30)
    grown = (9, 11, 21, 31)
    assert region.output_boxes(
        ['Equalize', 'Invert', 'SharpnessIncreasing'], box, frame) == \
        [grown, grown, box]
    assert region.output_boxes(
        ['Invert', 'Rotate', 'ColorIncreasing'], box, frame) == \
        [frame, box, box]
    # whole-frame statistics need the whole frame of their input
    assert region.output_boxes(['Invert', 'ContrastIncreasing'], box,
                               frame) == [frame, box]
    # margins stop at the frame's edges
    assert region.output_boxes(['Invert', 'SharpnessIncreasing'],
                               (0, 0, 50, 5), frame) == [(0, 0, 50, 6),
                                                         (0, 0, 50, 5)]
    # ... right and bottom edges of a portrait frame (width 32, height 48)
    portrait = (0, 0, 32, 48)
    assert region.output_boxes(['Invert', 'SharpnessIncreasing'],
                               (20, 30, 32, 48), portrait)[0] == \
        (19, 29, 32, 48)


def test_a_last_warp_computes_only_the_box(monkeypatch):
    """The point of it: the warp's output is the crop box, not the frame."""
    sizes = []
    warp = cv2.warpAffine

    def recording(src, matrix, size, **kw):
        sizes.append(size)
        return warp(src, matrix, size, **kw)

    monkeypatch.setattr(cv2, 'warpAffine', recording)
    clip = clip_of(frames=2)
    out = run([VideoRandAugment(ops=['Rotate'], num_ops=1, prob=1.,
                                crop=CROP)], clip, 0)
    left, top, right, bottom = out['crop_bbox']
    assert (right - left, bottom - top) != (64, 48)  # seed 0: a real crop
    assert sizes == [(right - left, bottom - top)] * 2


@pytest.mark.parametrize(
    'op', ['AutoContrast', 'Equalize', 'ContrastIncreasing'])
def test_a_last_statistics_op_maps_only_the_box(monkeypatch, op):
    """Tables from the whole frame (the clips equal above), applied to the
    crop box only."""
    shapes = []
    lut = cv2.LUT

    def recording(src, table, **kw):
        shapes.append(src.shape[:2])
        return lut(src, table, **kw)

    monkeypatch.setattr(cv2, 'LUT', recording)
    out = run([VideoRandAugment(ops=[op], num_ops=1, prob=1., crop=CROP)],
              clip_of(frames=2), 0)
    left, top, right, bottom = out['crop_bbox']
    assert (right - left, bottom - top) != (64, 48)  # seed 0: a real crop
    assert shapes == [(bottom - top, right - left)] * 2


def test_crop_errors():
    with pytest.raises(ValueError, match='RandomCrop family'):
        VideoRandAugment(crop=dict(type='ThreeCrop', crop_size=8))
    with pytest.raises(ValueError, match='non-lazy'):
        VideoRandAugment(crop=dict(CROP, lazy=True))
    aug = VideoRandAugment(prob=1., crop=CROP)
    clip = clip_of(frames=2)
    with pytest.raises(ValueError, match='img_shape'):
        aug(dict(imgs=list(clip), img_shape=(10, 10)))
    assert 'RandomResizedCrop' in repr(aug)


@pytest.mark.parametrize('op', ['AutoContrast', 'Equalize',
                                'ContrastIncreasing', 'Rotate', 'ShearX',
                                'ShearY', 'TranslateXRel', 'TranslateYRel'])
def test_boxed_ops_take_empty_boxes(op):
    """A box of zero width or height gives an empty clip, not an error."""
    clip = clip_of(frames=2, height=10, width=12)
    arg = _OPS[op][1](5.) if _OPS[op][1] else None
    for box, shape in (((3, 3, 3, 8), (2, 5, 0, 3)),
                       ((3, 3, 5, 3), (2, 0, 2, 3))):
        out = region.CV2_OPS[op](clip.copy(), arg, (0, 0, 0), 'bicubic',
                                 box=box)
        assert out.shape == shape


@pytest.mark.parametrize('seed', range(30))
def test_decoded_frames_are_read_in_place_never_written(seed, monkeypatch):
    """Frames that are one array's frames in order (mmaction2's
    ``DecordDecode`` makes them so) go to the ops without a copy of the
    clip and are never written; the clips equal those of separate frames
    (stacked into a clip the ops own)."""
    from mmvmae.datasets.transforms import rand_augment as module
    calls = []

    def spy(clip, *args):
        calls.append((clip, args[-1]))  # the clip and ``owned``
        return region.apply_in_box(clip, *args)
    monkeypatch.setattr(module, 'apply_in_box', spy)
    clip = clip_of(seed=seed)
    # many ops a clip, so that every kind of op comes first and last
    aug = VideoRandAugment(num_ops=4, prob=0.9, crop=CROP)
    outs = []
    for frames in ([f.copy() for f in clip], list(clip)):
        np.random.seed(seed)
        random.seed(seed)
        out = aug(dict(imgs=frames, img_shape=clip.shape[1:3],
                       original_shape=clip.shape[1:3]))
        outs.append(np.stack(out['imgs']))
        if calls:  # ops were drawn
            assert all(not np.may_share_memory(f, clip)
                       for f in out['imgs'])
    np.testing.assert_array_equal(clip, clip_of(seed=seed))  # unwritten
    np.testing.assert_array_equal(*outs)
    if calls:
        (stacked, owned), (read, kept) = calls
        assert owned and stacked is not clip
        assert read is clip and not kept


def test_frames_array():
    from mmvmae.datasets.transforms.rand_augment import frames_array
    clip = clip_of()
    assert frames_array(list(clip)) is clip and frames_array(clip) is clip
    for frames in (list(clip[::-1]), list(clip[:2]), list(clip[:, :8]),
                   [f.copy() for f in clip], list(clip[:, :, ::2])):
        assert frames_array(frames) is None
