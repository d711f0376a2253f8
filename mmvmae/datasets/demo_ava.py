"""A small generated AVA-style dataset: the detection demo needs no download.

Each video shows two textured shapes ("persons") moving in straight lines
(drawn by ``demo_data.render_clip``). Every second from ``TIMESTAMP_START + 1``
on is a keyframe annotated in the official AVA formats:

- ``annotations/ava_{train,val}_demo.csv``: ``video_id, timestamp, x1, y1,
  x2, y2, action_id, person_id`` (boxes normalised), one row per action;
- ``annotations/ava_{train,val}_excluded_timestamps_demo.csv``;
- ``annotations/ava_action_list_demo.pbtxt`` (``label { name label_id
  label_type }``);
- ``annotations/ava_dense_proposals_{train,val}.demo.pkl``: ``"video_id,
  timestamp"`` -> ``(N, 5)`` float32 ``x1, y1, x2, y2, score``: each person's
  box jittered with a high score, plus a false detection with a low score.

Actions (``ACTIONS``): 1 moves horizontally, 2 moves vertically, 3 is round.
Videos are ``videos/<video_id>.mp4`` starting at second ``TIMESTAMP_START``.
"""
import json
import os
import os.path as osp
import pickle
import shutil
import tempfile
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmengine.logging import print_log

from mmvmae.registry import DATASETS
from .ava_video_dataset import AVAVideoDataset
from .demo_data import MovingObject, make_background, render_clip, write_video

ACTIONS = {1: 'move horizontally', 2: 'move vertically', 3: 'be round'}
SHAPES = ('circle', 'square', 'triangle')
TIMESTAMP_START = 900
META_FILE = 'meta.json'  # written last: its presence marks a complete set


def _person(rng: np.random.Generator, height: int, width: int,
            num_frames: int, shape: str,
            horizontal: bool) -> Tuple[MovingObject, List[int]]:
    """A shape that stays inside the frame, and its action ids."""
    size = int(rng.integers(height // 4, height // 3 + 1))
    limit = ((width if horizontal else height) - size) / (num_frames - 1)
    speed = rng.uniform(0.5, 0.9) * limit * rng.choice([-1, 1])
    travel = speed * (num_frames - 1)
    span = (width if horizontal else height) - size
    start = rng.uniform(max(0, -travel), min(span, span - travel)) + size / 2
    other = rng.uniform(size / 2, (height if horizontal else width) - size / 2)
    center = (start, other) if horizontal else (other, start)
    velocity = (speed, 0.) if horizontal else (0., speed)
    colors = tuple(
        tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(2))
    actions = [1 if horizontal else 2] + ([3] if shape == 'circle' else [])
    return MovingObject(shape, center, velocity, size, colors), actions


def _proposals(rng: np.random.Generator, boxes: np.ndarray) -> np.ndarray:
    """Jittered true boxes (high score) + one false box (low score)."""
    jitter = rng.normal(0, 0.01, boxes.shape)
    true = np.concatenate([np.clip(boxes + jitter, 0, 1),
                           rng.uniform(0.92, 1.0, (len(boxes), 1))], axis=1)
    x1, y1 = rng.uniform(0, 0.6, 2)
    false = np.array([[x1, y1, x1 + 0.3, y1 + 0.35, rng.uniform(0.2, 0.6)]])
    return np.concatenate([true, false]).astype(np.float32)


def generate_demo_ava(out: str,
                      num_train: int = 8,
                      num_val: int = 4,
                      num_keyframes: int = 6,
                      height: int = 64,
                      width: int = 96,
                      fps: int = 10,
                      seed: int = 0) -> str:
    """Write the demo AVA set into ``out`` (see the module docstring)."""
    os.makedirs(osp.join(out, 'videos'), exist_ok=True)
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    num_frames = (num_keyframes + 2) * fps  # one spare second at each end
    for split, count, split_seed in (('train', num_train, seed),
                                     ('val', num_val, seed + 1)):
        rows: List[str] = []
        proposals: Dict[str, np.ndarray] = {}
        for index in range(count):
            rng = np.random.default_rng([split_seed, index])
            video_id = f'demo_{split[:2]}{index:04d}'  # 11 chars, like AVA
            # shapes and directions cycle, so every split has every action
            people = [
                _person(rng, height, width, num_frames,
                        SHAPES[(2 * index + k) % len(SHAPES)],
                        (index + k) % 2 == 0) for k in range(2)
            ]
            frames, boxes = render_clip(
                make_background(height, width, rng), [p[0] for p in people],
                num_frames, wrap=False)
            write_video(osp.join(out, 'videos', f'{video_id}.mp4'), frames,
                        fps)
            scale = np.array([width, height, width, height], np.float32)
            for second in range(1, num_keyframes + 1):
                timestamp = TIMESTAMP_START + second
                norm = boxes[second * fps] / scale
                for person_id, ((_, actions), box) in enumerate(
                        zip(people, norm)):
                    coords = ','.join(f'{v:.3f}' for v in box)
                    rows += [f'{video_id},{timestamp:04d},{coords},{action},'
                             f'{person_id}' for action in actions]
                proposals[f'{video_id},{timestamp:04d}'] = _proposals(
                    rng, norm)
        prefix = osp.join(out, 'annotations')
        _write(osp.join(prefix, f'ava_{split}_demo.csv'), rows)
        # excluded: the last keyframe of the first video (official format)
        _write(osp.join(prefix, f'ava_{split}_excluded_timestamps_demo.csv'),
               [f'demo_{split[:2]}0000,'
                f'{TIMESTAMP_START + num_keyframes:04d}'])
        with open(osp.join(prefix, f'ava_dense_proposals_{split}.demo.pkl'),
                  'wb') as f:
            pickle.dump(proposals, f)
    _write(osp.join(out, 'annotations', 'ava_action_list_demo.pbtxt'), [
        f'label {{\n  name: "{name}"\n  label_id: {action_id}\n  '
        'label_type: PERSON_MOVEMENT\n}' for action_id, name in ACTIONS.items()
    ])
    meta = dict(generator='mmvmae.datasets.demo_ava.generate_demo_ava',
                seed=seed, num_train=num_train, num_val=num_val,
                num_keyframes=num_keyframes, height=height, width=width,
                fps=fps, timestamp_start=TIMESTAMP_START,
                actions={str(k): v for k, v in ACTIONS.items()})
    with open(osp.join(out, META_FILE), 'w') as f:
        json.dump(meta, f, indent=2)
    return out


def _write(path: str, lines: List[str]) -> None:
    with open(path, 'w') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def ensure_demo_ava(root: str, **kwargs) -> str:
    """Generate the demo set at ``root`` unless it is there (made with the
    same ``kwargs``; other ones are an error); safe when several processes
    call it at once (write to a temporary folder, rename).
    """
    if osp.isfile(osp.join(root, META_FILE)):
        with open(osp.join(root, META_FILE)) as f:
            meta = json.load(f)
        differ = {key: (meta.get(key), value) for key, value in kwargs.items()
                  if meta.get(key) != value}
        if differ:
            raise FileExistsError(
                f'{root} holds a demo AVA set made with other settings ('
                + ', '.join(f'{key}={made} there, {key}={wanted} asked'
                            for key, (made, wanted) in differ.items())
                + '); delete it or choose another folder')
        return root
    if osp.isdir(root) and os.listdir(root):
        raise FileExistsError(f'{root} exists but is not a complete demo AVA '
                              f'set (no {META_FILE}); delete it to generate')
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    print_log(f'generating the demo AVA dataset at {root}', logger='current')
    tmp = tempfile.mkdtemp(prefix='.demo-ava-tmp-', dir=parent)
    try:
        generate_demo_ava(tmp, **kwargs)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, root)
        except OSError:
            if not osp.isfile(osp.join(root, META_FILE)):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


@DATASETS.register_module()
class DemoAVADataset(AVAVideoDataset):
    """:class:`AVAVideoDataset` over the demo set, generated on first use.

    Args:
        demo_root: the demo folder (``data/ava_demo``); the annotation paths
            and ``data_prefix`` given are relative to the working folder as
            usual, so they should point inside it.
        **kwargs: arguments of :class:`AVAVideoDataset`.
    """
    generates_data = True  # its files appear when it is built (data_check)

    def __init__(self, demo_root: str = 'data/ava_demo',
                 generator_args: Optional[dict] = None, **kwargs) -> None:
        ensure_demo_ava(demo_root, **(generator_args or {}))
        super().__init__(**kwargs)
