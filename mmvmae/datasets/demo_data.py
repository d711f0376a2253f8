"""A small generated video dataset, so demos and tests need no download.

Each video shows one textured shape (circle, square or triangle) moving in a
straight line over a textured background. The label is the motion direction
(``CLASSES``), which no single frame can tell. Videos are real mp4 files
(OpenCV ``mp4v``) that decord reads back.

``render_clip`` and its helpers are generic (any number of objects, with
their boxes per frame) so other demo generators can reuse them.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log

CLASSES = ('moving_left', 'moving_right', 'moving_up', 'moving_down')
DIRECTIONS = {  # unit (dx, dy) in pixels per frame of each class
    'moving_left': (-1, 0),
    'moving_right': (1, 0),
    'moving_up': (0, -1),
    'moving_down': (0, 1),
}
SHAPES = ('circle', 'square', 'triangle')
GENERATOR_VERSION = 1
META_FILE = 'meta.json'  # written last: its presence marks a complete set


@dataclass
class MovingObject:
    """A textured shape moving at constant velocity.

    Args:
        shape: one of ``SHAPES``.
        center: ``(x, y)`` at frame 0, in pixels.
        velocity: ``(dx, dy)`` in pixels per frame.
        size: side of the shape's bounding square, in pixels.
        colors: two RGB colours of its checkerboard texture.
    """
    shape: str
    center: Tuple[float, float]
    velocity: Tuple[float, float]
    size: int
    colors: Tuple[Tuple[int, int, int], Tuple[int, int, int]]


def make_background(height: int, width: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Smooth coloured noise plus faint stripes: ``(H, W, 3)`` uint8 RGB."""
    coarse = rng.uniform(40, 200, size=(height // 12 + 2, width // 12 + 2, 3))
    noise = cv2.resize(coarse.astype(np.float32), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    angle = rng.uniform(0, np.pi)
    ys, xs = np.mgrid[:height, :width]
    stripes = 20 * np.sin((xs * np.cos(angle) + ys * np.sin(angle)) / 3.0)
    return np.clip(noise + stripes[..., None], 0, 255).astype(np.uint8)


def make_sprite(obj: MovingObject) -> Tuple[np.ndarray, np.ndarray]:
    """Texture ``(S, S, 3)`` uint8 and shape mask ``(S, S)`` bool."""
    size = obj.size
    mask = np.zeros((size, size), np.uint8)
    if obj.shape == 'circle':
        cv2.circle(mask, (size // 2, size // 2), size // 2, 1, -1)
    elif obj.shape == 'square':
        mask[:] = 1
    elif obj.shape == 'triangle':
        points = np.array([[size // 2, 0], [0, size - 1],
                           [size - 1, size - 1]], np.int32)
        cv2.fillPoly(mask, [points], 1)
    else:
        raise ValueError(f'shape must be one of {SHAPES}, got {obj.shape!r}')
    ys, xs = np.mgrid[:size, :size]
    check = ((ys // 4 + xs // 4) % 2).astype(bool)
    texture = np.where(check[..., None], np.array(obj.colors[0], np.uint8),
                       np.array(obj.colors[1], np.uint8))
    return texture.astype(np.uint8), mask.astype(bool)


def paste(frame: np.ndarray, texture: np.ndarray, mask: np.ndarray, x0: int,
          y0: int) -> None:
    """Paste a sprite with its top-left at ``(x0, y0)``, clipped, in place."""
    height, width = frame.shape[:2]
    size_y, size_x = mask.shape
    x1, y1 = max(x0, 0), max(y0, 0)
    x2, y2 = min(x0 + size_x, width), min(y0 + size_y, height)
    if x1 >= x2 or y1 >= y2:
        return
    inside = (slice(y1 - y0, y2 - y0), slice(x1 - x0, x2 - x0))
    frame[y1:y2, x1:x2][mask[inside]] = texture[inside][mask[inside]]


def render_clip(background: np.ndarray,
                objects: Sequence[MovingObject],
                num_frames: int,
                wrap: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Render moving objects over a static background.

    Args:
        background: ``(H, W, 3)`` uint8 RGB.
        objects: drawn in order (later ones on top).
        num_frames: number of frames T.
        wrap: objects leaving one side come back on the other (a torus);
            otherwise they leave the frame.

    Returns:
        frames ``(T, H, W, 3)`` uint8 RGB and boxes ``(T, len(objects), 4)``
        float32 ``x1, y1, x2, y2`` in pixels, clipped to the frame (with
        ``wrap``, the box of the copy holding the object's centre).
    """
    height, width = background.shape[:2]
    sprites = [make_sprite(obj) for obj in objects]
    frames = np.repeat(background[None], num_frames, axis=0)
    boxes = np.zeros((num_frames, len(objects), 4), np.float32)
    for t in range(num_frames):
        for k, (obj, (texture, mask)) in enumerate(zip(objects, sprites)):
            cx = obj.center[0] + obj.velocity[0] * t
            cy = obj.center[1] + obj.velocity[1] * t
            if wrap:
                cx, cy = cx % width, cy % height
            x0 = int(round(cx - obj.size / 2))
            y0 = int(round(cy - obj.size / 2))
            offsets = [(0, 0)]
            if wrap:
                offsets = [(dx, dy) for dx in (-width, 0, width)
                           for dy in (-height, 0, height)]
            for dx, dy in offsets:
                paste(frames[t], texture, mask, x0 + dx, y0 + dy)
            boxes[t, k] = (max(x0, 0), max(y0, 0), min(x0 + obj.size, width),
                           min(y0 + obj.size, height))
    return frames, boxes


def write_video(path: str, frames: np.ndarray, fps: int = 10) -> None:
    """Write ``(T, H, W, 3)`` uint8 RGB frames as an mp4 (``mp4v``)."""
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write an mp4v video to {path}')
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()


def random_clip(label: int, shape: str, num_frames: int, height: int,
                width: int,
                rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """One demo clip of class ``CLASSES[label]``: frames and boxes."""
    dx, dy = DIRECTIONS[CLASSES[label]]
    speed = rng.uniform(1.5, 3.0)
    size = int(rng.integers(height // 5, height // 3))
    colors = tuple(
        tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(2))
    obj = MovingObject(shape, (rng.uniform(0, width), rng.uniform(0, height)),
                       (dx * speed, dy * speed), size, colors)
    return render_clip(make_background(height, width, rng), [obj], num_frames)


def generate_demo_dataset(out: str,
                          num_train: int = 64,
                          num_val: int = 24,
                          num_frames: int = 40,
                          height: int = 96,
                          width: int = 128,
                          fps: int = 10,
                          seed: int = 0) -> str:
    """Write the demo dataset into ``out`` (created; should be empty).

    Layout: ``train/*.mp4``, ``val/*.mp4``, ``train.txt`` and ``val.txt``
    ("relpath label" lines), ``unlabeled.txt`` (train paths only),
    ``classes.txt``, ``README.txt`` and ``meta.json`` (written last). Labels
    cycle over ``CLASSES``; the same arguments give the same frames.
    """
    os.makedirs(out, exist_ok=True)
    lists = {}
    for split, count, split_seed in (('train', num_train, seed),
                                     ('val', num_val, seed + 1)):
        os.makedirs(osp.join(out, split), exist_ok=True)
        lines = []
        for index in range(count):
            rng = np.random.default_rng([split_seed, index])
            label = index % len(CLASSES)
            shape = SHAPES[int(rng.integers(len(SHAPES)))]
            frames, _ = random_clip(label, shape, num_frames, height, width,
                                    rng)
            relpath = f'{split}/{index:04d}_{shape}.mp4'
            write_video(osp.join(out, relpath), frames, fps)
            lines.append(f'{relpath} {label}')
        lists[split] = lines
    _write_lines(osp.join(out, 'train.txt'), lists['train'])
    _write_lines(osp.join(out, 'val.txt'), lists['val'])
    _write_lines(osp.join(out, 'unlabeled.txt'),
                 [line.split()[0] for line in lists['train']])
    _write_lines(osp.join(out, 'classes.txt'), CLASSES)
    meta = dict(
        generator='mmvmae.datasets.demo_data.generate_demo_dataset',
        version=GENERATOR_VERSION, seed=seed, num_train=num_train,
        num_val=num_val, num_frames=num_frames, height=height, width=width,
        fps=fps, codec='mp4v', classes=list(CLASSES), shapes=list(SHAPES),
        label='index of the motion direction in classes')
    with open(osp.join(out, 'README.txt'), 'w') as f:
        f.write(
            'Generated demo videos of mmvmae (no real footage). Each video '
            'shows one textured shape moving in a straight line over a '
            'textured background; the label is the motion direction '
            '(classes.txt). Lists: train.txt/val.txt ("relpath label"), '
            'unlabeled.txt (paths only). Regenerate with\n  python '
            f'tools/data/generate_demo_dataset.py --out <dir> --seed {seed}\n')
    with open(osp.join(out, META_FILE), 'w') as f:
        json.dump(meta, f, indent=2)
    return out


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with open(path, 'w') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def ensure_demo_dataset(root: str, logger: Optional[object] = None,
                        **kwargs) -> str:
    """Generate the demo dataset at ``root`` unless it is already there.

    Safe when several processes (distributed ranks) call it at once: each
    writes into a temporary folder next to ``root`` and renames it; the
    first rename wins and the others discard theirs.

    Args:
        root: dataset folder.
        logger: mmengine logger or name for the message (default: current).
        **kwargs: passed to :func:`generate_demo_dataset`.

    Returns:
        ``root``.
    """
    if osp.isfile(osp.join(root, META_FILE)):
        return root
    if osp.isdir(root) and os.listdir(root):
        raise FileExistsError(
            f'{root} exists but is not a complete demo dataset (no '
            f'{META_FILE}); delete it to generate the demo dataset there')
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    print_log(f'generating the demo dataset at {root}',
              logger=logger or 'current')
    tmp = tempfile.mkdtemp(prefix='.demo-tmp-', dir=parent)
    try:
        generate_demo_dataset(tmp, **kwargs)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        try:
            os.rename(tmp, root)  # atomic; fails if another process won
        except OSError:
            if not osp.isfile(osp.join(root, META_FILE)):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root

