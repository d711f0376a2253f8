"""The OpenCV backend of VideoRandAugment against the PIL reference, and the
cheaper VideoRandomErasing.

Differences seen (PIL 13, OpenCV 5.0, 4 frames of arm_wrestling.mp4 and a
smooth synthetic image): LUT ops, Contrast, Sharpness, AutoContrast and
Equalize exactly equal; Color max 1 level on < 0.1 % of pixels; geometric
ops mean 0.3-0.9 levels away from the fill border (PIL's cubic has a=-1,
OpenCV's a=-0.75; PIL truncates); Translate (a 1-D filter with PIL's
kernel) exactly equal away from the fill border.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest

import mmvmae
from mmvmae.datasets.transforms import rand_augment_cv2 as ops_cv2
from mmvmae.datasets.transforms.rand_augment import _OPS, VideoRandAugment
from mmvmae.datasets.transforms.random_erasing import VideoRandomErasing
from mmvmae.registry import TRANSFORMS

VIDEO = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
         'videos' / 'arm_wrestling.mp4')
FILL = (124, 116, 104)
LUT_OPS = ('Invert', 'PosterizeIncreasing', 'SolarizeIncreasing',
           'SolarizeAdd', 'BrightnessIncreasing')
HISTOGRAM_OPS = ('AutoContrast', 'Equalize')
BLEND_OPS = ('ColorIncreasing', 'ContrastIncreasing', 'SharpnessIncreasing')
GEOMETRIC_OPS = ('Rotate', 'ShearX', 'ShearY', 'TranslateXRel',
                 'TranslateYRel')


def smooth_clip() -> np.ndarray:
    """(3, 64, 80, 3): smooth colours, one frame with a constant channel and
    two levels in another (identity branches of AutoContrast/Equalize)."""
    y, x = np.mgrid[0:64, 0:80].astype(np.float64)
    frame = np.stack([128 + 100 * np.sin(x / 9), 128 + 90 * np.cos(y / 7),
                      20 + 1.5 * (x + y)], -1)
    flat = np.stack([np.full_like(x, 77), 60 + 100 * (x > 40), y * 3], -1)
    return np.stack([frame, 255 - frame, flat]).round().astype(np.uint8)


@pytest.fixture(scope='module')
def real_clip() -> np.ndarray:
    if not VIDEO.is_file():
        pytest.skip(f'real test video not found at {VIDEO}')
    import decord
    reader = decord.VideoReader(str(VIDEO))
    return reader.get_batch([0, 50, 100, 150]).asnumpy()


@pytest.fixture(params=['real', 'smooth'])
def clip(request) -> np.ndarray:
    if request.param == 'real':
        return request.getfixturevalue('real_clip')
    return smooth_clip()


def args_of(name: str) -> list:
    """Args at levels 3, 7 and 10, both signs for signed ops."""
    _, level_to_arg, signed = _OPS[name]
    if level_to_arg is None:
        return [None]
    args = [level_to_arg(level) for level in (3., 7., 10.)]
    args += [-a for a in args] if signed else []
    if name.endswith('Increasing') and signed:  # enhance factor 1 +/- arg
        args = [1 + a for a in args]
    return args


def both(name, arg, clip, interpolation='bicubic'):
    aug = VideoRandAugment(interpolation=interpolation, fill=FILL)
    pil = np.stack([aug.apply_pil(f, [(name, arg)]) for f in clip])
    cv = aug.apply_cv2(clip.copy(), [(name, arg)])
    assert cv.shape == clip.shape and cv.dtype == np.uint8
    return pil.astype(int), cv.astype(int)


@pytest.mark.parametrize('name', LUT_OPS + HISTOGRAM_OPS)
def test_lut_and_histogram_ops_exact(name, clip):
    for arg in args_of(name):
        pil, cv = both(name, arg, clip)
        assert np.array_equal(pil, cv), (name, arg)
    if name == 'PosterizeIncreasing':  # level 10 keeps no bit
        assert not both(name, 0, clip)[1].any()


def test_histogram_ops_on_tiny_frames():
    """Few pixels: Equalize's zero-step branch."""
    tiny = np.random.default_rng(0).integers(0, 256, (3, 8, 10, 3),
                                             dtype=np.uint8)
    for name in HISTOGRAM_OPS:
        pil, cv = both(name, None, tiny)
        assert np.array_equal(pil, cv), name


@pytest.mark.parametrize('name', BLEND_OPS)
def test_blend_ops_within_one_level(name, clip):
    for arg in args_of(name):
        pil, cv = both(name, arg, clip)
        diff = np.abs(pil - cv)
        assert diff.max() <= 1, (name, arg, diff.max())
        assert (diff > 0).mean() < 0.01, (name, arg)


def compare_geometric(pil: np.ndarray, cv: np.ndarray):
    """(mean abs difference 3+ pixels inside the image region of ``pil``,
    pixels 2+ pixels inside the fill region of one output and not filled in
    the other)."""
    errors, fill_mismatch = [], 0
    for p, c in zip(pil, cv):
        pil_fill = np.all(p == FILL, -1).astype(np.uint8)
        cv_fill = np.all(c == FILL, -1).astype(np.uint8)
        for fill, other in ((pil_fill, cv_fill), (cv_fill, pil_fill)):
            core = cv2.erode(fill, np.ones((5, 5), np.uint8))
            fill_mismatch += int((core > other).sum())
        inner = cv2.erode(1 - pil_fill, np.ones((7, 7), np.uint8),
                          borderType=cv2.BORDER_CONSTANT, borderValue=0)
        errors.append(np.abs(p - c)[inner.astype(bool)])
    return float(np.concatenate(errors).mean()), fill_mismatch


# mean abs difference allowed away from the fill border; seen: <= 0.6
GEOMETRIC_TOLERANCE = 1.


@pytest.mark.parametrize('interpolation', ['bicubic', 'bilinear'])
@pytest.mark.parametrize('name', GEOMETRIC_OPS)
def test_geometric_ops_match_pil(name, interpolation, clip):
    for arg in args_of(name):
        pil, cv = both(name, arg, clip, interpolation)
        error, fill_mismatch = compare_geometric(pil, cv)
        assert error < GEOMETRIC_TOLERANCE, (name, arg, error)
        assert fill_mismatch == 0, (name, arg)


def test_geometric_tolerance_catches_wrong_conventions(request):
    """A flipped rotation or a one-pixel shift (half a pixel on real
    frames) fails the tolerance used above."""
    shifts = (1., .5)
    try:
        clips = [request.getfixturevalue('real_clip')]
    except pytest.skip.Exception:
        clips, shifts = [], (1., )
    for clip in clips + [smooth_clip()]:
        pil, _ = both('Rotate', 21., clip)
        wrong = ops_cv2.rotate(clip.copy(), -21., FILL, 'bicubic')
        error, fill_mismatch = compare_geometric(pil, wrong.astype(int))
        assert error > GEOMETRIC_TOLERANCE and fill_mismatch > 0
        h, w = clip.shape[1:3]
        for name, matrix in (
                ('TranslateXRel', lambda s: (1, 0, .2 * w + s, 0, 1, 0)),
                ('TranslateYRel', lambda s: (1, 0, 0, 0, 1, .2 * h + s)),
                ('ShearX', lambda s: (1, .2, s, 0, 1, 0))):
            pil, _ = both(name, .2, clip)
            for shift in shifts:
                wrong = ops_cv2.pil_affine(clip.copy(), matrix(shift), FILL,
                                           'bicubic').astype(int)
                error, _ = compare_geometric(pil, wrong)
                assert error > GEOMETRIC_TOLERANCE, (name, shift, error)


@pytest.mark.parametrize('interpolation', ['bicubic', 'bilinear'])
@pytest.mark.parametrize('axis', [1, 2])
@pytest.mark.parametrize('shift', [0.25, 0.5, -2.75, 3., 13.6])
def test_translate_filter_equals_pil_inside(shift, axis, interpolation):
    """The 1-D filter translation samples where PIL samples with PIL's
    weights: equal to PIL wherever neither result is near the fill."""
    from PIL import Image
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (2, 24, 30, 3), dtype=np.uint8)
    matrix = (1, 0, shift, 0, 1, 0) if axis == 2 else (1, 0, 0, 0, 1, shift)
    resample = dict(bicubic=Image.BICUBIC, bilinear=Image.BILINEAR)
    pil = np.stack([np.asarray(Image.fromarray(frame).transform(
        frame.shape[1::-1], Image.AFFINE, matrix,
        resample=resample[interpolation], fillcolor=FILL))
        for frame in clip]).astype(int)
    got = ops_cv2.translate(clip.copy(), shift, axis, FILL,
                            interpolation).astype(int)
    size = clip.shape[axis]
    # output pixels whose 4 taps all lie inside the input
    pos = np.arange(size) + shift
    inside = (np.floor(pos) - 1 >= 0) & (np.floor(pos) + 2 <= size - 1)
    index = [slice(None)] * 4
    index[axis] = inside
    assert inside.sum() >= size - abs(shift) - 4
    np.testing.assert_allclose(got[tuple(index)], pil[tuple(index)], atol=1)
    # all 4 taps in the fill
    outside = (np.floor(pos) + 2 < 0) | (np.floor(pos) - 1 > size - 1)
    assert outside.sum() >= abs(shift) - 3
    index[axis] = outside
    assert (got[tuple(index)] == FILL).all()


def test_translate_past_the_image_is_all_fill():
    clip = np.full((2, 8, 10, 3), 9, np.uint8)
    for shift, axis in ((12., 2), (-10.5, 1)):
        out = ops_cv2.translate(clip.copy(), shift, axis, FILL, 'bicubic')
        assert (out == FILL).all()


def test_same_sampled_ops_and_random_state_for_both_backends(real_clip):
    frames = list(real_clip)
    kw = dict(magnitude=7, num_ops=4, magnitude_std=0.5)
    cv_aug = VideoRandAugment(**kw)
    pil_aug = VideoRandAugment(backend='pil', **kw)
    assert cv_aug.backend == 'cv2'
    seen = set()
    for seed in range(40):
        np.random.seed(seed)
        ops = cv_aug.sample_ops()
        np.random.seed(seed)
        assert pil_aug.sample_ops() == ops
        seen.update(name for name, _ in ops)
    assert len(seen) == len(_OPS)
    for seed in (0, 5):
        np.random.seed(seed)
        out_cv = cv_aug(dict(imgs=list(frames)))['imgs']
        after_cv = np.random.rand()
        np.random.seed(seed)
        out_pil = pil_aug(dict(imgs=list(frames)))['imgs']
        assert np.random.rand() == after_cv
        assert all(f.shape == (256, 340, 3) and f.dtype == np.uint8
                   for f in out_cv)
        diff = np.abs(np.stack(out_cv).astype(int) - np.stack(out_pil))
        assert diff.mean() < 2, seed
    # the input frames are kept (repeated sampling augments them twice)
    assert all(np.array_equal(a, b) for a, b in zip(frames, real_clip))


def test_interpolation_applies_to_both_backends():
    frames = list(smooth_clip())
    outs = {}
    for backend in ('cv2', 'pil'):
        for interpolation in ('bicubic', 'bilinear'):
            aug = VideoRandAugment(ops=['Rotate'], num_ops=1, prob=1.,
                                   backend=backend,
                                   interpolation=interpolation)
            np.random.seed(0)
            outs[backend, interpolation] = np.stack(
                aug(dict(imgs=list(frames)))['imgs']).astype(int)
    for backend in ('cv2', 'pil'):
        assert not np.array_equal(outs[backend, 'bicubic'],
                                  outs[backend, 'bilinear'])
    # cv2 bilinear is nearer PIL bilinear than PIL bicubic
    assert np.abs(outs['cv2', 'bilinear'] - outs['pil', 'bilinear']).mean() \
        < np.abs(outs['cv2', 'bilinear'] - outs['pil', 'bicubic']).mean()


def test_bad_arguments():
    mmvmae.register_all_modules()
    with pytest.raises(ValueError, match="backend.*'cv2', 'pil'"):
        TRANSFORMS.build(dict(type='VideoRandAugment', backend='torch'))
    with pytest.raises(ValueError, match='interpolation.*bicubic'):
        VideoRandAugment(interpolation='nearest')
    with pytest.raises(ValueError, match='fill'):
        VideoRandAugment(fill=(1, 2))
    frames = [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)]
    with pytest.raises(ValueError, match='same shape'):
        VideoRandAugment(prob=1.)(dict(imgs=frames))


# VideoRandomErasing: float32 noise from a generator seeded by numpy
def test_random_erasing_reproducible_and_copies_only_erased_frames():
    frames = [np.full((32, 40, 3), i, np.uint8) for i in range(8)]
    aug = VideoRandomErasing(erase_prob=0.5)
    outs = []
    for seed in (3, 3, 4):
        np.random.seed(seed)
        outs.append(aug(dict(imgs=list(frames)))['imgs'])
    assert all(np.array_equal(a, b) for a, b in zip(outs[0], outs[1]))
    assert any(not np.array_equal(a, b) for a, b in zip(outs[0], outs[2]))
    erased = [not np.array_equal(o, f) for o, f in zip(outs[0], frames)]
    assert 0 < sum(erased) < len(frames)
    for was_erased, out, frame in zip(erased, outs[0], frames):
        assert (out is not frame) == was_erased
    assert all(f.max() == i for i, f in enumerate(frames))  # inputs kept


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_random_erasing_noise_distribution(dtype):
    """Erased pixels follow mean + std * N(0, 1) (rounded, clipped for
    uint8), compared with an independent sample of that formula."""
    mean, std = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12,
                                                               57.375])
    aug = VideoRandomErasing(erase_prob=1., per_frame=False, min_area=0.3,
                             max_area=0.3, aspect_range=(1, 1))
    np.random.seed(0)
    frames = [np.full((100, 100, 3), -1 if dtype == np.float32 else 0,
                      dtype) for _ in range(8)]
    out = np.stack(aug(dict(imgs=frames))['imgs'])
    values = out[(out != frames[0]).any(-1)].astype(np.float64)
    assert len(values) == 8 * 55 * 55
    reference = mean + std * np.random.default_rng(1).standard_normal(
        values.shape)
    if dtype == np.uint8:
        reference = np.clip(np.rint(reference), 0, 255)
        assert np.all(values == np.rint(values))
    assert np.allclose(values.mean(0), reference.mean(0), atol=1.5)
    assert np.allclose(values.std(0), reference.std(0), atol=1.5)
