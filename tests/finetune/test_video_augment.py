"""VideoRandAugment (same op and magnitude on every frame) and
VideoRandomErasing."""
import numpy as np
import pytest
from PIL import Image

from mmvmae.datasets.transforms.rand_augment import _OPS, VideoRandAugment
from mmvmae.datasets.transforms.random_erasing import VideoRandomErasing
from mmvmae.registry import TRANSFORMS


def clip(t=5, h=32, w=40, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    # distinct frames: shifted and brightened copies of one image
    return [np.clip(np.roll(base, i, axis=1).astype(int) + 10 * i, 0,
                    255).astype(np.uint8) for i in range(t)]


@pytest.mark.parametrize('backend', ['cv2', 'pil'])
@pytest.mark.parametrize('op', sorted(_OPS))
def test_every_op_is_identical_on_every_frame(op, backend):
    aug = TRANSFORMS.build(dict(type='VideoRandAugment', ops=[op], num_ops=1,
                                prob=1., magnitude=9, magnitude_std=0.5,
                                backend=backend))
    same = [clip(t=1)[0]] * 4
    np.random.seed(1)
    out = aug(dict(imgs=list(same)))['imgs']
    for frame in out[1:]:
        assert np.array_equal(frame, out[0]), op
    assert out[0].shape == same[0].shape and out[0].dtype == np.uint8


def test_distinct_frames_get_the_same_sampled_ops():
    aug = VideoRandAugment(magnitude=7, num_ops=4, magnitude_std=0.5,
                           prob=1., backend='pil')
    frames = clip()
    np.random.seed(3)
    out = aug(dict(imgs=list(frames)))['imgs']
    np.random.seed(3)
    ops = aug.sample_ops()
    assert len(ops) == 4
    for frame, got in zip(frames, out):
        img = Image.fromarray(frame)
        for name, arg in ops:
            img = _OPS[name][0](img, arg, aug.fill, Image.BICUBIC)
        assert np.array_equal(np.asarray(img), got)
    assert any(not np.array_equal(a, b) for a, b in zip(frames, out))


def test_ops_follow_pil_reference():
    """A few ops against a direct PIL computation of the documented
    magnitude mapping."""
    frame = clip(t=1)[0]
    img = Image.fromarray(frame)
    ops = dict(
        SolarizeIncreasing=(7, lambda: np.asarray(
            Image.fromarray(frame).point(
                lambda p: 255 - p if p >= 256 - int(0.7 * 256) else p))),
        PosterizeIncreasing=(7, lambda: frame & np.uint8(
            (0xFF << (8 - (4 - int(0.7 * 4)))) & 0xFF)),
        Invert=(7, lambda: 255 - frame),
    )
    for name, (level, reference) in ops.items():
        op, level_to_arg, _ = _OPS[name]
        arg = level_to_arg(level) if level_to_arg else None
        got = np.asarray(op(img, arg, (0, 0, 0), Image.BICUBIC))
        assert np.array_equal(got, reference().astype(np.uint8)), name


def test_bad_arguments():
    with pytest.raises(ValueError, match='unknown'):
        VideoRandAugment(ops=['Blur'])
    with pytest.raises(ValueError, match='magnitude'):
        VideoRandAugment(magnitude=12)
    with pytest.raises(ValueError, match='uint8'):
        VideoRandAugment(prob=1.)(dict(imgs=[np.zeros((4, 4, 3),
                                                      np.float32)]))


# timm's "increasing" RandAugment (rand-m7-n4-mstd0.5-inc1, the VideoMAE
# recipe): level L in [0, 10] -> the op's argument, written out
TIMM_ARGS = {
    'Rotate': lambda L: 30 * L / 10,
    'PosterizeIncreasing': lambda L: 4 - int(L / 10 * 4),
    'SolarizeIncreasing': lambda L: 256 - int(L / 10 * 256),
    'SolarizeAdd': lambda L: int(L / 10 * 110),
    'ColorIncreasing': lambda L: 0.9 * L / 10,  # factor 1 +- this
    'ContrastIncreasing': lambda L: 0.9 * L / 10,
    'BrightnessIncreasing': lambda L: 0.9 * L / 10,
    'SharpnessIncreasing': lambda L: 0.9 * L / 10,
    'ShearX': lambda L: 0.3 * L / 10,
    'ShearY': lambda L: 0.3 * L / 10,
    'TranslateXRel': lambda L: 0.45 * L / 10,
    'TranslateYRel': lambda L: 0.45 * L / 10,
}


def _draw(rng, **kwargs):
    return VideoRandAugment(**dict(dict(num_ops=1, prob=1.,
                                        magnitude_std=0.), **kwargs)
                            ).sample_ops(rng)


def test_levels_follow_timm():
    rng = np.random.RandomState(0)
    for name, arg_of in TIMM_ARGS.items():
        for level in range(11):
            [(drawn, arg)] = _draw(rng, ops=[name], magnitude=level)
            if name.endswith('Increasing') and name[:-10] in (
                    'Color', 'Contrast', 'Brightness', 'Sharpness'):
                arg = arg - 1
            expected = arg_of(level)
            assert drawn == name
            assert abs(arg) == pytest.approx(expected), (name, level)


def test_sampling_follows_timm():
    """Signs drawn half and half, the level drawn around the magnitude
    (std 0.5) and clipped to [0, 10], ops drawn with replacement, each
    applied with probability ``prob``; grey (128) fill by default."""
    rng = np.random.RandomState(1)
    turns = [_draw(rng, ops=['Rotate'], magnitude=7)[0][1]
             for _ in range(400)]
    assert set(turns) == {21., -21.}
    assert 0.4 < np.mean(np.array(turns) > 0) < 0.6
    levels = [abs(_draw(rng, ops=['Rotate'], magnitude=7,
                        magnitude_std=0.5)[0][1]) / 3 for _ in range(400)]
    assert 0.4 < np.std(levels) < 0.6 and abs(np.mean(levels) - 7) < 0.1
    for _ in range(100):  # level 10 +- 5: clipped to [0, 10]
        [(_, turn)] = _draw(rng, ops=['Rotate'], magnitude=10,
                            magnitude_std=5.)
        [(_, bits)] = _draw(rng, ops=['PosterizeIncreasing'],
                            magnitude=10, magnitude_std=5.)
        assert abs(turn) <= 30 and 0 <= bits <= 4
    assert _draw(rng, ops=['Invert'], num_ops=2) == [('Invert', None)] * 2
    kept = [len(VideoRandAugment(num_ops=4).sample_ops(rng))
            for _ in range(400)]
    assert abs(np.mean(kept) - 2) < 0.2  # 4 ops at probability 0.5
    assert VideoRandAugment().fill == (128, 128, 128)


def erased(before, after):
    return [np.any(a != b, axis=-1) for a, b in zip(before, after)]


def test_random_erasing_per_clip_same_box():
    np.random.seed(0)
    frames = [np.full((40, 48, 3), 7, np.uint8) for _ in range(4)]
    aug = VideoRandomErasing(erase_prob=1., per_frame=False)
    out = aug(dict(imgs=[f.copy() for f in frames]))['imgs']
    masks = erased(frames, out)
    assert masks[0].any()
    for m in masks[1:]:
        assert np.array_equal(m, masks[0])
    rows, cols = masks[0].any(1), masks[0].any(0)
    area = rows.sum() * cols.sum() / (40 * 48)
    assert 0.02 - 0.01 <= area <= 1 / 3 + 0.02


def test_random_erasing_box_shapes_span_the_ranges():
    """Over many draws the boxes cover the area fraction range [0.02, 1/3]
    and both ends of the log-uniform aspect range (0.3, 1/0.3)."""
    np.random.seed(0)
    frame = np.full((100, 100, 3), 7, np.uint8)
    aug = VideoRandomErasing(erase_prob=1., per_frame=False)
    areas, aspects = [], []
    for _ in range(200):
        mask = erased([frame], aug(dict(imgs=[frame.copy()]))['imgs'])[0]
        height, width = mask.any(1).sum(), mask.any(0).sum()
        areas.append(height * width / 100**2)
        aspects.append(height / width)
    assert 0.015 <= min(areas) < 0.06 and 0.25 < max(areas) <= 0.35
    assert min(aspects) < 0.45 and max(aspects) > 1 / 0.45
    # log-uniform (timm, VideoMAE): tall and wide boxes equally likely
    assert 0.8 < np.median(aspects) < 1.25


@pytest.mark.parametrize('shape', [(16, 64), (64, 16)])
def test_random_erasing_boxes_fit_non_square_frames(shape):
    """Boxes lie inside wide and tall frames and use their long side."""
    np.random.seed(0)
    h, w = shape
    aug = VideoRandomErasing(erase_prob=1., per_frame=False)
    boxes = [aug.sample_box(h, w) for _ in range(300)]
    boxes = [b for b in boxes if b is not None]
    assert len(boxes) > 150
    for top, left, bh, bw in boxes:
        assert 0 <= top and top + bh <= h and 0 <= left and left + bw <= w
    long_side = max(bw if w > h else bh for _, _, bh, bw in boxes)
    assert long_side > 20  # the short side is 16
    frame = np.full((h, w, 3), 7, np.uint8)
    extents = []
    for _ in range(100):
        mask = erased([frame], aug(dict(imgs=[frame.copy()]))['imgs'])[0]
        extents.append(mask.any(1).sum() if h > w else mask.any(0).sum())
    assert max(extents) > 20


def test_random_erasing_per_frame_and_prob():
    np.random.seed(1)
    frames = [np.full((40, 48, 3), 7, np.uint8) for _ in range(6)]
    out = VideoRandomErasing(erase_prob=1., per_frame=True)(
        dict(imgs=[f.copy() for f in frames]))['imgs']
    masks = erased(frames, out)
    assert all(m.any() for m in masks)
    assert any(not np.array_equal(m, masks[0]) for m in masks[1:])
    # noise is mean + std * N(0, 1) per pixel, clipped to uint8
    values = np.concatenate([o[m] for o, m in zip(out, masks)])
    assert abs(values[:, 0].mean() - 123.675) < 10
    out = VideoRandomErasing(erase_prob=0.)(
        dict(imgs=[f.copy() for f in frames]))['imgs']
    assert all(np.array_equal(a, b) for a, b in zip(frames, out))
    with pytest.raises(ValueError, match='erase_prob'):
        VideoRandomErasing(erase_prob=2.)
