"""The motion benchmark generator and the data-efficiency configs."""
from pathlib import Path

import decord
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmvmae.datasets.motion_benchmark import (CLASSES, digit_alpha,
                                              generate_motion_benchmark,
                                              load_digit_images,
                                              random_motion_clip,
                                              render_digit_clip)
from mmvmae.registry import DATASETS, MODELS

CONFIG_DIR = (Path(__file__).resolve().parents[2] / 'configs' / 'benchmarks'
              / 'data_efficiency')
SIZES = dict(num_train=24, num_val=6, num_test=12)


@pytest.fixture(scope='module')
def bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('motion') / 'a'
    generate_motion_benchmark(str(out), **SIZES, seed=3,
                              label_fractions=(0.25, ))
    return out


def read_list(path: Path) -> list:
    return [line.split() for line in path.read_text().splitlines()]


def test_same_arguments_same_videos(bench, tmp_path):
    again = tmp_path / 'b'
    generate_motion_benchmark(str(again), **SIZES, seed=3,
                              label_fractions=(0.25, ))
    for name in ('train.txt', 'test.txt', 'train_25pct.txt', 'meta.json'):
        assert (bench / name).read_text() == (again / name).read_text()
    for relpath, _ in read_list(bench / 'test.txt')[:3]:
        first = decord.VideoReader(str(bench / relpath))
        second = decord.VideoReader(str(again / relpath))
        np.testing.assert_array_equal(first.get_batch(range(12)).asnumpy(),
                                      second.get_batch(range(12)).asnumpy())
    other = tmp_path / 'c'
    generate_motion_benchmark(str(other), num_train=6, num_val=1,
                              num_test=1, seed=4)
    relpath = 'train/00000.mp4'
    assert not np.array_equal(
        decord.VideoReader(str(bench / relpath))[0].asnumpy(),
        decord.VideoReader(str(other / relpath))[0].asnumpy())


def test_split_sizes_and_balanced_subset(bench):
    for split in ('train', 'val', 'test'):
        lines = read_list(bench / f'{split}.txt')
        assert len(lines) == SIZES[f'num_{split}']
        assert len(list((bench / split).glob('*.mp4'))) == len(lines)
    unlabeled = read_list(bench / 'unlabeled.txt')
    assert [line[0] for line in read_list(bench / 'train.txt')] == [
        line[0] for line in unlabeled]
    assert all(len(line) == 1 for line in unlabeled)
    subset = read_list(bench / 'train_25pct.txt')
    assert len(subset) == SIZES['num_train'] // 4
    labels = np.bincount([int(label) for _, label in subset],
                         minlength=len(CLASSES))
    assert labels.tolist() == [1] * len(CLASSES)
    video = decord.VideoReader(str(bench / subset[0][0]))
    assert len(video) == 12 and video[0].shape == (32, 40, 3)


def test_first_frame_does_not_depend_on_the_label():
    digit = load_digit_images()[7]
    clips = [random_motion_clip(label, digit, 6, 32, 40,
                                np.random.default_rng(11))
             for label in range(len(CLASSES))]
    # every random draw is label-independent: frame 0 is the same picture
    for clip in clips[1:]:
        np.testing.assert_array_equal(clip[0], clips[0][0])
    # while the last frames tell every pair of classes apart
    last = np.stack([clip[-1].astype(np.int16) for clip in clips])
    gaps = np.abs(last[:, None] - last[None]).mean(axis=(2, 3, 4))
    assert (gaps[~np.eye(len(CLASSES), dtype=bool)] > 1).all()


def centroid(weights: np.ndarray) -> np.ndarray:
    ys, xs = np.mgrid[:weights.shape[0], :weights.shape[1]]
    return np.array([(xs * weights).sum(), (ys * weights).sum()
                     ]) / weights.sum()


def test_motion_is_what_the_class_says():
    rng = np.random.default_rng(0)
    black = np.zeros((32, 40, 3), np.float32)
    blob = digit_alpha(np.pad(np.ones((2, 2), np.float32), 3), 8)
    frames = render_digit_clip(black, blob, (255, 255, 255), (20, 16),
                               (1.5, -1.0), 0, 0, 3, 0.0, rng)
    centres = [centroid(frame[..., 0].astype(float)) for frame in frames]
    steps = np.diff(centres, axis=0)
    np.testing.assert_allclose(steps, [[1.5, -1.0]] * 2, atol=0.1)
    # a bar pointing right, turned by -90 (the sign rotate_cw uses), points
    # down on screen (y grows downwards): clockwise as seen
    bar = np.zeros((9, 9), np.float32)
    bar[4, 5:] = 1
    frames = render_digit_clip(black, bar, (255, 255, 255), (20, 16),
                               (0, 0), 0, -90, 2, 0.0, rng)
    moved = centroid(frames[1][..., 0].astype(float)) - (20, 16)
    assert moved[1] > 1.5 and abs(moved[0]) < 0.5


@pytest.mark.parametrize('name', sorted(
    path.stem for path in CONFIG_DIR.glob('*.py')))
def test_configs_build_and_run(name, bench):
    cfg = Config.fromfile(str(CONFIG_DIR / f'{name}.py'))
    cfg.model.backbone.pop('init_cfg', None)
    model = MODELS.build(cfg.model)
    loaders = [(cfg.train_dataloader, 1)]
    if 'test_dataloader' in cfg:
        loaders.append((cfg.test_dataloader, 6))  # 2 clips x 3 crops
    for loader, views in loaders:
        dataset_cfg = dict(loader.dataset, data_root=str(bench))
        if dataset_cfg['ann_file'] not in ('unlabeled.txt', 'test.txt'):
            dataset_cfg['ann_file'] = 'train_25pct.txt'
        sample = DATASETS.build(dataset_cfg)[0]
        assert tuple(sample['inputs'].shape) == (views, 3, 8, 32, 32)
    with torch.no_grad():
        if 'pretrain' in name:
            mask = torch.as_tensor(sample['data_samples'].mask)
            ratio = float(name.rsplit('mask', 1)[1])
            assert mask.sum() == 4 * int(ratio * 16)  # tube: 16 per slot
            losses = model(**model.data_preprocessor(
                dict(inputs=[sample['inputs']] * 2,
                     data_samples=[sample['data_samples']] * 2), True),
                mode='loss')
            assert all(torch.isfinite(v) for v in losses.values())
        else:
            batch = model.data_preprocessor(
                dict(inputs=[sample['inputs']],
                     data_samples=[sample['data_samples']]), False)
            scores = model(**batch, mode='predict')[0].pred_score
            assert scores.shape == (len(CLASSES), )


def test_collected_commands_load_the_work_dirs_encoder():
    """Every fine-tuning row of the table names the encoder of the same
    work dir (the configs' default is work_dirs/data_efficiency)."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        'collect_results', Path(__file__).resolve().parents[2] / 'tools' /
        'benchmarks' / 'collect_results.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    option = 'model.backbone.init_cfg.checkpoint=/w/pretrain_mask'
    assert tool.command('finetune_10pct', 'x', '/w').endswith(
        option + '0.75')
    assert tool.command('finetune_100pct_mask0.9', 'x', '/w').endswith(
        option + '0.9')
    assert 'cfg-options' not in tool.command('scratch_10pct', 'x', '/w')
    assert 'cfg-options' not in tool.command('pretrain_mask0.5', 'x', '/w')
