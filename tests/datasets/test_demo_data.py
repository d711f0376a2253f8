"""The generated demo dataset: real mp4s, lists, determinism, atomicity."""
import json
import multiprocessing
import os
import runpy
import sys
from pathlib import Path

import decord
import numpy as np
import pytest

from mmvmae.datasets import demo_data
from mmvmae.datasets.demo_data import (CLASSES, DIRECTIONS, MovingObject,
                                       ensure_demo_dataset,
                                       generate_demo_dataset, make_background,
                                       random_clip, render_clip)
from mmvmae.registry import DATASETS

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL = dict(num_train=8, num_val=4, num_frames=12)


def read_lines(path):
    return Path(path).read_text().splitlines()


def decode_all(root):
    frames = {}
    for line in read_lines(Path(root) / 'train.txt'):
        reader = decord.VideoReader(str(Path(root) / line.split()[0]))
        frames[line] = reader.get_batch(list(range(len(reader)))).asnumpy()
    return frames


def test_generated_files_and_lists(tmp_path):
    root = generate_demo_dataset(str(tmp_path / 'demo'), **SMALL)
    train = read_lines(Path(root) / 'train.txt')
    val = read_lines(Path(root) / 'val.txt')
    assert len(train) == 8 and len(val) == 4
    assert read_lines(Path(root) / 'unlabeled.txt') == [
        line.split()[0] for line in train]
    assert read_lines(Path(root) / 'classes.txt') == list(CLASSES)
    labels = [int(line.split()[1]) for line in train]
    assert sorted(set(labels)) == [0, 1, 2, 3]
    meta = json.loads((Path(root) / 'meta.json').read_text())
    assert meta['num_frames'] == 12 and meta['classes'] == list(CLASSES)
    assert (Path(root) / 'README.txt').read_text().startswith('Generated')
    clips = []
    for line in train + val:
        reader = decord.VideoReader(str(Path(root) / line.split()[0]))
        assert len(reader) == 12
        assert reader[0].shape == (96, 128, 3)
        clips.append(reader[0].asnumpy())
    # no validation video repeats a training one (a val set drawn with the
    # train seed would)
    for val_clip in clips[8:]:
        assert all(np.abs(val_clip.astype(int) - train_clip).mean() > 5
                   for train_clip in clips[:8])


def test_decoded_video_matches_rendered_frames(tmp_path):
    # mp4v is lossy: the decoded video stays close to what was rendered
    root = generate_demo_dataset(str(tmp_path / 'demo'), **SMALL)
    rng = np.random.default_rng([0, 1])  # train video 1, as the generator
    shape = demo_data.SHAPES[int(rng.integers(len(demo_data.SHAPES)))]
    rendered, _ = random_clip(1, shape, 12, 96, 128, rng)
    path = Path(root) / read_lines(Path(root) / 'train.txt')[1].split()[0]
    decoded = decord.VideoReader(str(path)).get_batch(list(range(12)))
    error = np.abs(decoded.asnumpy().astype(float) - rendered).mean()
    assert error < 10, error


def test_deterministic(tmp_path):
    first = decode_all(generate_demo_dataset(str(tmp_path / 'a'), **SMALL))
    second = decode_all(generate_demo_dataset(str(tmp_path / 'b'), **SMALL))
    other = decode_all(
        generate_demo_dataset(str(tmp_path / 'c'), seed=1, **SMALL))
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert any(key not in other or not np.array_equal(first[key], other[key])
               for key in first)


@pytest.mark.parametrize('label', range(4))
def test_motion_follows_label(label):
    rng = np.random.default_rng(label)
    frames, boxes = random_clip(label, 'circle', 6, 96, 128, rng)
    assert frames.shape == (6, 96, 128, 3) and frames.dtype == np.uint8
    dx, dy = DIRECTIONS[CLASSES[label]]
    # centre displacement per frame, modulo the frame size (objects wrap)
    centers = (boxes[:, 0, :2] + boxes[:, 0, 2:]) / 2
    step = np.diff(centers, axis=0)
    step = step[np.abs(step).max(1) < 20]  # drop wrap-around jumps
    assert len(step) and (np.sign(step.mean(0)) == (dx, dy)).all()


def test_render_clip_boxes_and_pixels():
    rng = np.random.default_rng(0)
    background = make_background(32, 48, rng)
    obj = MovingObject('square', (10, 10), (3, 1), 6,
                       ((255, 0, 0), (0, 0, 255)))
    frames, boxes = render_clip(background, [obj], 4, wrap=False)
    for t in range(4):
        x1, y1, x2, y2 = boxes[t, 0].astype(int)
        assert (x1, y1) == (7 + 3 * t, 7 + t) and (x2 - x1, y2 - y1) == (6, 6)
        patch = frames[t, y1:y2, x1:x2]
        assert set(map(tuple, patch.reshape(-1, 3))) == {(255, 0, 0),
                                                         (0, 0, 255)}
        outside = frames[t].copy()
        outside[y1:y2, x1:x2] = background[y1:y2, x1:x2]
        np.testing.assert_array_equal(outside, background)
    with pytest.raises(ValueError, match='shape must be one of'):
        render_clip(background, [MovingObject('star', (5, 5), (0, 0), 4,
                                              ((0, 0, 0), ) * 2)], 1)


def test_ensure_generates_once(tmp_path):
    root = str(tmp_path / 'demo')
    assert ensure_demo_dataset(root, **SMALL) == root
    stamp = os.stat(Path(root) / 'meta.json').st_mtime_ns
    ensure_demo_dataset(root, **SMALL)
    assert os.stat(Path(root) / 'meta.json').st_mtime_ns == stamp
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'something').write_text('x')
    with pytest.raises(FileExistsError, match='not a complete demo dataset'):
        ensure_demo_dataset(str(broken))


def _ensure(root):
    ensure_demo_dataset(root, **SMALL)


def test_ensure_is_safe_when_racing(tmp_path):
    root = str(tmp_path / 'demo')
    context = multiprocessing.get_context('fork')
    workers = [context.Process(target=_ensure, args=(root, ))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert sorted(os.listdir(tmp_path)) == ['demo'], 'no temp dirs left'
    assert len(read_lines(Path(root) / 'train.txt')) == 8


def test_demo_dataset_generates_on_first_use(tmp_path):
    root = tmp_path / 'demo'
    dataset = DATASETS.build(
        dict(type='DemoVideoDataset', data_root=str(root),
             ann_file='val.txt', pipeline=[]))
    assert (root / 'meta.json').is_file()
    assert len(dataset) == 24  # default size
    info = dataset.get_data_info(0)
    assert info['filename'].startswith(str(root)) and info['label'] == 0


def test_cli(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'cli'
    script = REPO_ROOT / 'tools' / 'data' / 'generate_demo_dataset.py'
    monkeypatch.setattr(sys, 'argv', [
        str(script), '--out', str(out), '--num-train', '2', '--num-val', '1',
        '--num-frames', '6', '--seed', '3'
    ])
    runpy.run_path(str(script), run_name='__main__')
    assert 'demo dataset written to' in capsys.readouterr().out
    assert len(read_lines(out / 'train.txt')) == 2
    assert json.loads((out / 'meta.json').read_text())['seed'] == 3
    monkeypatch.setattr(sys, 'argv', [str(script), '--num-train', '0'])
    with pytest.raises(SystemExit, match='--num-train must be >= 1'):
        runpy.run_path(str(script), run_name='__main__')


def test_cli_force_deletes_only_a_demo_dataset(tmp_path, monkeypatch):
    """``--force`` regenerates a demo set; a folder of other files (a typo
    in --out) is never deleted, a file is named."""
    script = str(REPO_ROOT / 'tools' / 'data' / 'generate_demo_dataset.py')
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'important.txt').write_text('keep')
    for out, message in ((mine, 'is not a complete demo dataset'),
                         (mine / 'important.txt', 'is a file')):
        monkeypatch.setattr(sys, 'argv', [script, '--out', str(out),
                                          '--force', '--num-train', '1'])
        with pytest.raises(SystemExit, match=message):
            runpy.run_path(script, run_name='__main__')
    assert (mine / 'important.txt').read_text() == 'keep'


def test_render_clip_wraps_vertically():
    """With ``wrap`` an object leaving at the bottom comes back at the top
    (a torus): its pixels split over both edges while it crosses, and its
    box is that of the copy holding its centre, inside the frame."""
    height, width, size = 32, 48, 6
    background = np.zeros((height, width, 3), np.uint8)
    background[:] = (0, 255, 0)
    obj = MovingObject('square', (20, 24), (0, 3), size,
                       ((255, 0, 0), (0, 0, 255)))
    frames, boxes = render_clip(background, [obj], 6)
    # centre y = 24 + 3t (mod 32): 24, 27, 30, 1, 4, 7; top = centre - 3
    for t, top in enumerate((21, 24, 27, -2, 1, 4)):
        rows = sorted({(top + i) % height for i in range(size)})
        drawn = (frames[t] != background).any(-1)
        assert sorted(set(np.nonzero(drawn)[0])) == rows
        assert sorted(set(np.nonzero(drawn)[1])) == list(range(17, 23))
        np.testing.assert_array_equal(
            boxes[t, 0], (17, max(top, 0), 23, min(top + size, height)))
    assert {0, 31} <= set(np.nonzero((frames[3] != background).any(-1))[0])
