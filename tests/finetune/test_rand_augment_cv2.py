"""The OpenCV backend of VideoRandAugment against the PIL reference, and the
cheaper VideoRandomErasing.

Differences seen (PIL 13, OpenCV 5.0, 4 frames of arm_wrestling.mp4 and a
smooth synthetic image): LUT ops, Contrast, Sharpness, AutoContrast and
Equalize exactly equal; Color max 1 level on < 0.1 % of pixels; geometric
Rotate mean 0.3-0.9 levels away from the fill border (PIL's cubic has a=-1,
OpenCV's a=-0.75; PIL truncates); Translate and Shear (1-D filters with
PIL's rules) equal everywhere but for float noise: one level where PIL's
float64 value lies within 0.006 of an integer.
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


def test_threshold_and_bit_ops_exact_for_every_arg():
    """The SIMD forms of Solarize, SolarizeAdd and Posterize against PIL for
    every argument the levels give and past them (OpenCV's threshold has
    special cases at -1 and 255), on a frame holding every level."""
    levels = np.arange(256, dtype=np.uint8)
    clip = np.stack([levels, levels[::-1], np.roll(levels, 7)], -1)
    clip = np.broadcast_to(clip, (2, 4, 256, 3)).copy()
    cases = [('SolarizeIncreasing', t) for t in range(-1, 258)]
    cases += [('SolarizeIncreasing', t) for t in (0.5, 127.5, 255.5)]
    cases += [('SolarizeAdd', a) for a in (0, 1, 55, 110, 127, 128, 255)]
    cases += [('SolarizeAdd', a) for a in (300, 12.5)]  # the table path
    cases += [('PosterizeIncreasing', b) for b in range(9)]
    for name, arg in cases:
        pil, cv = both(name, arg, clip)
        assert np.array_equal(pil, cv), (name, arg)


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


LINE_OPS = {  # op -> PIL's affine matrix for arg a on a (w, h) frame
    'ShearX': lambda a, w, h: (1, a, 0, 0, 1, 0),
    'ShearY': lambda a, w, h: (1, 0, 0, a, 1, 0),
    'TranslateXRel': lambda a, w, h: (1, 0, a * w, 0, 1, 0),
    'TranslateYRel': lambda a, w, h: (1, 0, 0, 0, 1, a * h),
}


def pil_reference(clip: np.ndarray, matrix, interpolation: str):
    """PIL's value before truncation, float64, from the formulas of
    Geometry.c (affine_transform, the bilinear / bicubic filters): NaN where
    the sample point is outside the frame (PIL writes the fill)."""
    a, b, c, d, e, f = matrix
    frames, height, width = clip.shape[:3]
    y, x = np.mgrid[0:height, 0:width] + .5
    xin, yin = a * x + b * y + c, d * x + e * y + f
    inside = (xin >= 0) & (xin < width) & (yin >= 0) & (yin < height)
    xs, ys = xin - .5, yin - .5
    x0, y0 = np.floor(xs), np.floor(ys)
    dx, dy = (xs - x0)[..., None], (ys - y0)[..., None]
    x0, y0 = x0.astype(int), y0.astype(int)

    def at(i, j):  # taps clamped to the frame
        return clip[:, np.clip(y0 + j, 0, height - 1),
                    np.clip(x0 + i, 0, width - 1)].astype(np.float64)

    if interpolation == 'bilinear':
        rows = [at(0, j) + (at(1, j) - at(0, j)) * dx for j in (0, 1)]
        value = rows[0] + (rows[1] - rows[0]) * dy
    else:
        def cubic(v1, v2, v3, v4, t):
            p2, p3 = -v1 + v3, 2 * (v1 - v2) + v3 - v4
            return v2 + t * (p2 + t * (p3 + t * (-v1 + v2 - v3 + v4)))
        rows = [cubic(*(at(i, j) for i in (-1, 0, 1, 2)), dx)
                for j in (-1, 0, 1, 2)]
        value = cubic(*rows, dy)
    return np.where(inside[..., None], value, np.nan)


@pytest.mark.parametrize('interpolation', ['bicubic', 'bilinear'])
@pytest.mark.parametrize('name', sorted(LINE_OPS))
def test_line_ops_equal_pil_but_for_float_noise(name, interpolation):
    """Translate and Shear as 1-D filters: PIL's values everywhere, fill
    border included, on a whole frame and in a box; they differ only by one
    level, only where PIL's float64 value lies within 0.006 of an integer
    (PIL truncates it, OpenCV filters in float32)."""
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (2, 24, 30, 3), dtype=np.uint8)
    box = (3, 5, 26, 22)
    for arg in args_of(name) + [0., 0.013, 1.4, -1.4]:
        matrix = LINE_OPS[name](arg, 30, 24)
        pil = np.stack([aug_pil(frame, matrix, interpolation)
                        for frame in clip]).astype(int)
        value = pil_reference(clip, matrix, interpolation)
        truncated = np.where(np.isnan(value), np.asarray(FILL),
                             np.floor(np.clip(np.nan_to_num(value), 0, 255)))
        assert np.array_equal(truncated, pil), (name, arg)  # PIL's math
        for crop in (None, box):
            got = ops_cv2.CV2_OPS[name](clip.copy(), arg, FILL, interpolation,
                                        box=crop).astype(int)
            want, near = pil, value
            if crop is not None:
                want = pil[:, crop[1]:crop[3], crop[0]:crop[2]]
                near = value[:, crop[1]:crop[3], crop[0]:crop[2]]
            assert got.shape == want.shape
            diff = np.abs(got - want)
            assert diff.max() <= 1, (name, arg, crop)
            distance = np.abs(near - np.rint(near))[diff > 0]
            assert (distance < 0.006).all(), (name, arg, crop, distance)


def aug_pil(frame: np.ndarray, matrix, interpolation: str) -> np.ndarray:
    from PIL import Image
    resample = dict(bicubic=Image.BICUBIC, bilinear=Image.BILINEAR)
    return np.asarray(Image.fromarray(frame).transform(
        frame.shape[1::-1], Image.AFFINE, matrix,
        resample=resample[interpolation], fillcolor=FILL))


def test_line_ops_on_real_frames(real_clip):
    """Whole frames of a real clip: one level on a few % of values at most
    (the float-noise cases above)."""
    h, w = real_clip.shape[1:3]
    for name, interpolation in ((n, i) for n in sorted(LINE_OPS)
                                for i in ('bicubic', 'bilinear')):
        for arg in (.21, -.3, .09):
            matrix = LINE_OPS[name](arg, w, h)
            pil = np.stack([aug_pil(f, matrix, interpolation)
                            for f in real_clip]).astype(int)
            got = ops_cv2.CV2_OPS[name](real_clip.copy(), arg, FILL,
                                        interpolation).astype(int)
            diff = np.abs(got - pil)
            assert diff.max() <= 1 and (diff > 0).mean() < 0.05, (name, arg)


def test_translate_past_the_image_is_all_fill():
    clip = np.full((2, 8, 10, 3), 9, np.uint8)
    for name, arg in (('TranslateXRel', 1.2), ('TranslateYRel', -1.4),
                      ('ShearX', 30.), ('ShearY', -30.)):
        out = ops_cv2.CV2_OPS[name](clip.copy(), arg, FILL, 'bicubic')
        assert out.shape == clip.shape and (out == FILL).all(), name


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


# VideoRandomErasing: OpenCV's normal noise, seeded from numpy
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


def test_random_erasing_channels():
    """Grey frames get the first channel's statistics; more than the 4
    channels OpenCV's generator fills is refused."""
    aug = VideoRandomErasing(erase_prob=1., min_area=0.5, max_area=0.5,
                             aspect_range=(1, 1), mean=(200., 0., 0.),
                             std=(1., 1., 1.))
    grey = aug(dict(imgs=[np.zeros((40, 40, 1), np.uint8)]))['imgs'][0]
    assert abs(grey[grey > 0].mean() - 200) < 1 and (grey > 0).sum() > 500
    with pytest.raises(ValueError, match='1-4 channels'):
        aug(dict(imgs=[np.zeros((40, 40, 5), np.uint8)]))


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
