"""Pretraining data configs and repeated sampling on real videos."""
from pathlib import Path

import decord
import mmcv
import numpy as np
import pytest
from mmaction.datasets.transforms.loading import DecordDecode
from mmengine.config import Config
from mmengine.runner import Runner

from mmvmae.datasets.demo_data import ensure_demo_dataset
from mmvmae.registry import DATASETS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / \
    'datasets'
VIDEOS = ('arm_wrestling.mp4', 'test.mp4', 'test.avi')


def video_list(tmp_path, shared_data, names=VIDEOS):
    """An unlabeled list of the real test videos; returns (ann, prefix)."""
    ann = tmp_path / 'unlabeled.txt'
    ann.write_text(''.join(f'{name}\n' for name in names))
    return str(ann), str(shared_data / 'videos')


# (config, frame interval, visible tokens): VIDEOMAE.md, 16x224 clips,
# stride 4 (K400, UCF101) or 2 (SSv2); mask 0.9 -> 20 of 196 visible per
# slot, 0.75 (UCF101) -> 49.
@pytest.mark.parametrize('name,interval,visible', [
    ('k400_pretrain.py', 4, 8 * 20),
    ('ssv2_pretrain.py', 2, 8 * 20),
    ('ucf101_pretrain.py', 4, 8 * 49),
])
def test_pretrain_configs_on_real_videos(tmp_path, shared_data, name,
                                         interval, visible):
    cfg = Config.fromfile(str(CONFIGS / name))
    loader = cfg.train_dataloader
    assert loader.batch_size == 32 and loader.num_workers == 8
    assert loader.persistent_workers and loader.sampler.shuffle
    reading = cfg.train_pipeline[0]
    assert reading.type == 'SafeVideoDecode'  # unreadable videos skipped
    sample_frames = reading.transforms[1]
    assert (sample_frames.clip_len, sample_frames.frame_interval,
            sample_frames.num_clips) == (16, interval, 1)
    ann, prefix = video_list(tmp_path, shared_data)
    dataset = DATASETS.build(
        dict(loader.dataset, ann_file=ann, data_prefix=dict(video=prefix)))
    assert len(dataset) == len(VIDEOS)
    for index in range(len(VIDEOS)):
        item = dataset[index]
        assert item['inputs'].shape == (1, 3, 16, 224, 224)
        mask = item['data_samples'].mask
        assert mask.shape == (1568, ) and mask.dtype == bool
        assert (~mask).sum() == visible
        assert item['data_samples'].gt_label.tolist() == [-1]


def make_demo(tmp_path):
    return ensure_demo_dataset(
        str(tmp_path / 'demo'), num_train=4, num_val=4, num_frames=20)


@pytest.mark.parametrize('num_workers', [0, 2])
def test_demo_config_dataloader(tmp_path, num_workers):
    cfg = Config.fromfile(str(CONFIGS / 'demo_pretrain.py'))
    assert cfg.train_dataloader.dataset.type == 'DemoVideoDataset'
    loader_cfg = cfg.train_dataloader.to_dict()
    loader_cfg['dataset']['data_root'] = make_demo(tmp_path)
    loader_cfg['num_workers'] = num_workers
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    batch = next(iter(loader))
    assert len(batch['inputs']) == 4  # 4 demo videos, batch size 8
    assert batch['inputs'][0].shape == (1, 3, 8, 64, 64)
    for sample in batch['data_samples']:
        # 0.75 on a 4x4 grid: 16 - 12 = 4 visible per slot, 4 slots
        assert sample.mask.shape == (64, ) and (~sample.mask).sum() == 16


def small_pipeline():
    return [
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=4, frame_interval=2,
             num_clips=1),
        dict(type='DecordDecode'),
        dict(type='MultiScaleCrop', input_size=64,
             scales=(1, 0.875, 0.75, 0.66), num_fixed_crops=13),
        dict(type='Flip', flip_ratio=1.0),  # in place: copies must not share
        dict(type='Resize', scale=(64, 64), keep_ratio=False),
        dict(type='TubeMasking', mask_ratio=0.75),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs', algorithm_keys=('mask', ),
             meta_keys=('crop_bbox', 'frame_inds', 'filename')),
    ]


def expected_clip(sample):
    """Decode, crop, flip and resize a copy independently: (3, T, H, W)."""
    reader = decord.VideoReader(sample.filename)
    frames = reader.get_batch(list(sample.frame_inds)).asnumpy()
    x1, y1, x2, y2 = sample.crop_bbox
    frames = [
        mmcv.imresize(np.ascontiguousarray(f[y1:y2, x1:x2, :][:, ::-1]),
                      (64, 64)) for f in frames
    ]
    return np.stack(frames).transpose(3, 0, 1, 2)


def test_repeated_sampling_decodes_once(tmp_path, shared_data, monkeypatch):
    calls = []
    load_frames = DecordDecode._decord_load_frames

    def counting(self, container, frame_inds):
        calls.append(len(frame_inds))
        return load_frames(self, container, frame_inds)

    monkeypatch.setattr(DecordDecode, '_decord_load_frames', counting)
    ann, prefix = video_list(tmp_path, shared_data, names=VIDEOS[:2])
    dataset = DATASETS.build(
        dict(type='RepeatedSamplingDataset', num_repeats=4,
             dataset=dict(type='VideoListDataset', ann_file=ann,
                          data_prefix=dict(video=prefix),
                          pipeline=small_pipeline())))
    assert len(dataset) == 2
    np.random.seed(0)
    copies = dataset[0]
    assert calls == [4], 'one decode of one 4-frame clip'
    assert len(copies) == 4
    samples = [c['data_samples'] for c in copies]
    masks = {s.mask.tobytes() for s in samples}
    crops = {tuple(s.crop_bbox) for s in samples}
    assert len(masks) > 1 and len(crops) > 1
    for copy in copies:
        sample = copy['data_samples']
        np.testing.assert_array_equal(sample.frame_inds,
                                      samples[0].frame_inds)
        np.testing.assert_array_equal(copy['inputs'][0].numpy(),
                                      expected_clip(sample))

    loader = Runner.build_dataloader(
        dict(batch_size=2, num_workers=0, dataset=dataset,
             sampler=dict(type='DefaultSampler', shuffle=False),
             collate_fn=dict(type='repeat_pseudo_collate')), seed=0)
    batch = next(iter(loader))
    assert len(batch['inputs']) == len(batch['data_samples']) == 2 * 4
    assert len(calls) == 3


def test_repeated_sampling_errors(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text('a.mp4\n')
    inner = dict(type='VideoListDataset', ann_file=str(ann),
                 pipeline=[dict(type='SampleFrames', clip_len=4)])
    with pytest.raises(ValueError, match='no decode step'):
        DATASETS.build(dict(type='RepeatedSamplingDataset', dataset=inner))
    with pytest.raises(ValueError, match='num_repeats'):
        DATASETS.build(dict(type='RepeatedSamplingDataset', dataset=inner,
                            num_repeats=0, split_after='SampleFrames'))
    with pytest.raises(ValueError, match="'Foo' is not in the pipeline"):
        DATASETS.build(dict(type='RepeatedSamplingDataset', dataset=inner,
                            split_after='Foo'))
