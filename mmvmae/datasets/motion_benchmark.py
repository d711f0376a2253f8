"""A small generated benchmark for video classification that needs motion.

Each clip shows one handwritten digit (scikit-learn's bundled 8x8 digits,
upscaled and coloured) over a striped, shaded background with pixel noise. The
label is how the digit moves (``CLASSES``): translation in one of four
directions (wrapping around the frame), or rotation in place, clockwise or
anticlockwise. Position and angle at frame 0 are uniform over the frame and
over 360 degrees for every class, so every frame taken alone has the same
distribution in every class: only motion tells the classes apart.

Train and test clips use disjoint digit images. Videos are real mp4 files
(OpenCV ``mp4v``) that decord reads back; the same arguments give the same
frames.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from .demo_data import write_video

CLASSES = ('move_left', 'move_right', 'move_up', 'move_down', 'rotate_cw',
           'rotate_ccw')
# (dx, dy) unit direction and rotation sign (+1 = clockwise on screen)
MOTIONS = {
    'move_left': ((-1, 0), 0),
    'move_right': ((1, 0), 0),
    'move_up': ((0, -1), 0),
    'move_down': ((0, 1), 0),
    'rotate_cw': ((0, 0), 1),
    'rotate_ccw': ((0, 0), -1),
}
SPLITS = ('train', 'val', 'test')
GENERATOR_VERSION = 3
META_FILE = 'meta.json'  # written last: its presence marks a complete set
TRAIN_DIGIT_FRACTION = 2 / 3  # digit images [0, 2/3) train, the rest val/test


def load_digit_images() -> np.ndarray:
    """scikit-learn's 1797 digit images as float32 ``(N, 8, 8)`` in [0, 1]."""
    from sklearn.datasets import load_digits
    return (load_digits().images / 16.0).astype(np.float32)


def make_background(height: int, width: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Stripes of random angle, period and phase over a smooth colour
    gradient: ``(H, W, 3)`` float32 RGB in [0, 255]. Its structure is larger
    than a patch, so masked patches are predictable from visible ones."""
    corners = rng.uniform(60, 196, size=(2, 2, 3)).astype(np.float32)
    gradient = cv2.resize(corners, (width, height),
                          interpolation=cv2.INTER_LINEAR)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(10, 16)
    ys, xs = np.mgrid[:height, :width]
    phase = (xs * np.cos(angle) + ys * np.sin(angle)) * 2 * np.pi / period
    stripes = 30 * np.sin(phase + rng.uniform(0, 2 * np.pi))
    tint = rng.uniform(0.5, 1.0, size=3).astype(np.float32)
    return np.clip(gradient + stripes[..., None] * tint, 0, 255)


def digit_alpha(image: np.ndarray, size: int) -> np.ndarray:
    """An 8x8 digit upscaled to a ``(size, size)`` float32 alpha in [0, 1]."""
    alpha = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(alpha, 0, 1)


def render_digit_clip(background: np.ndarray, alpha: np.ndarray,
                      color: Sequence[int], center: Tuple[float, float],
                      velocity: Tuple[float, float], angle: float,
                      spin: float, num_frames: int, noise_std: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Composite a moving, rotating digit over ``background``.

    Args:
        background: ``(H, W, 3)`` RGB in [0, 255].
        alpha: ``(S, S)`` float digit mask.
        color: RGB colour of the digit.
        center: ``(x, y)`` of the digit at frame 0, in pixels.
        velocity: ``(dx, dy)`` in pixels per frame; positions wrap around.
        angle: rotation at frame 0, degrees (positive = anticlockwise, as
            OpenCV).
        spin: degrees per frame, same sign convention.
        num_frames: T.
        noise_std: std of the Gaussian pixel noise added to every frame.
        rng: source of the noise.

    Returns:
        ``(T, H, W, 3)`` uint8 RGB frames.
    """
    height, width = background.shape[:2]
    half = (alpha.shape[0] - 1) / 2
    color = np.asarray(color, np.float32)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        cx = (center[0] + velocity[0] * t) % width
        cy = (center[1] + velocity[1] * t) % height
        matrix = cv2.getRotationMatrix2D((half, half), angle + spin * t, 1.0)
        coverage = np.zeros((height, width), np.float32)
        for ox in (-width, 0, width):  # copies on the torus
            for oy in (-height, 0, height):
                shifted = matrix.copy()
                shifted[:, 2] += (cx + ox - half, cy + oy - half)
                coverage = np.maximum(coverage, cv2.warpAffine(
                    alpha, shifted, (width, height), flags=cv2.INTER_LINEAR,
                    borderValue=0))
        frame = background * (1 - coverage[..., None]) + color * coverage[
            ..., None]
        frame += rng.normal(0, noise_std, frame.shape)
        frames[t] = np.clip(frame, 0, 255).astype(np.uint8)
    return frames


def random_motion_clip(label: int, digit: np.ndarray, num_frames: int,
                       height: int, width: int,
                       rng: np.random.Generator) -> np.ndarray:
    """One clip of class ``CLASSES[label]`` showing ``digit`` ``(8, 8)``.

    Every draw except the motion is independent of the label, so all
    classes share the distribution of any single frame.
    """
    if not 0 <= label < len(CLASSES):
        raise ValueError(f'label must be in [0, {len(CLASSES)}), got {label}')
    (dx, dy), turn = MOTIONS[CLASSES[label]]
    size = int(rng.integers(height // 2, height * 5 // 8 + 1))
    # saturated colours, each channel dark or bright, over a muted background
    color = np.where(rng.random(3) < 0.5, rng.integers(0, 60, 3),
                     rng.integers(196, 256, 3))
    center = (rng.uniform(0, width), rng.uniform(0, height))
    angle = rng.uniform(-180, 180)
    speed = rng.uniform(2.0, 3.0)  # pixels per frame
    spin = rng.uniform(15.0, 25.0)  # degrees per frame
    background = make_background(height, width, rng)
    return render_digit_clip(
        background, digit_alpha(digit, size), color, center,
        (dx * speed, dy * speed), angle, -turn * spin, num_frames,
        noise_std=2.0, rng=rng)


def generate_motion_benchmark(out: str,
                              num_train: int = 2400,
                              num_val: int = 300,
                              num_test: int = 600,
                              num_frames: int = 12,
                              height: int = 32,
                              width: int = 40,
                              fps: int = 10,
                              seed: int = 0,
                              label_fractions: Sequence[float] = (0.1, )
                              ) -> str:
    """Write the benchmark into ``out`` (created; should be empty).

    Layout: ``{train,val,test}/*.mp4``; ``train.txt``, ``val.txt``,
    ``test.txt`` ("relpath label"); ``unlabeled.txt`` (train paths only);
    ``train_<pct>pct.txt`` for each label fraction (the first clips of
    ``train.txt``, class-balanced since labels cycle over the classes);
    ``classes.txt``; ``meta.json`` (last).
    """
    for name, value in (('num_train', num_train), ('num_val', num_val),
                        ('num_test', num_test), ('num_frames', num_frames),
                        ('height', height), ('width', width)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'{name} must be a positive int, got {value!r}')
    for fraction in label_fractions:
        if not 0 < fraction <= 1:
            raise ValueError(
                f'label_fractions must be in (0, 1], got {fraction}')
    digits = load_digit_images()
    cut = int(len(digits) * TRAIN_DIGIT_FRACTION)
    pools = dict(train=np.arange(cut), val=np.arange(cut, len(digits)),
                 test=np.arange(cut, len(digits)))
    counts = dict(train=num_train, val=num_val, test=num_test)
    lists: Dict[str, List[str]] = {}
    for split_index, split in enumerate(SPLITS):
        os.makedirs(osp.join(out, split), exist_ok=True)
        lines = []
        for index in range(counts[split]):
            rng = np.random.default_rng([seed, split_index, index])
            label = index % len(CLASSES)
            digit = digits[rng.choice(pools[split])]
            frames = random_motion_clip(label, digit, num_frames, height,
                                        width, rng)
            relpath = f'{split}/{index:05d}.mp4'
            write_video(osp.join(out, relpath), frames, fps)
            lines.append(f'{relpath} {label}')
        lists[split] = lines
        _write_lines(osp.join(out, f'{split}.txt'), lines)
    _write_lines(osp.join(out, 'unlabeled.txt'),
                 [line.split()[0] for line in lists['train']])
    for fraction in label_fractions:
        count = max(len(CLASSES), int(round(fraction * num_train)))
        _write_lines(osp.join(out, subset_list_name(fraction)),
                     lists['train'][:count])
    _write_lines(osp.join(out, 'classes.txt'), CLASSES)
    meta = dict(
        generator='mmvmae.datasets.motion_benchmark.'
        'generate_motion_benchmark',
        version=GENERATOR_VERSION, seed=seed, num_train=num_train,
        num_val=num_val, num_test=num_test, num_frames=num_frames,
        height=height, width=width, fps=fps, codec='mp4v',
        classes=list(CLASSES), label_fractions=list(label_fractions))
    with open(osp.join(out, META_FILE), 'w') as f:
        json.dump(meta, f, indent=2)
    return out


def subset_list_name(fraction: float) -> str:
    """List file of a labelled subset: 0.1 -> ``'train_10pct.txt'``."""
    return f'train_{round(fraction * 100):d}pct.txt'


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with open(path, 'w') as f:
        f.write(''.join(f'{line}\n' for line in lines))
