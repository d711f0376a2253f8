"""The real Kinetics clip through the K400 16x5x3 test pipeline."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose

ROOT = Path(__file__).resolve().parents[2]
VIDEO = ROOT / '..' / 'shared' / 'data' / 'videos' / 'arm_wrestling.mp4'


@pytest.mark.skipif(not VIDEO.is_file(),
                    reason=f'real test video not found at {VIDEO}')
def test_arm_wrestling_16x5x3():
    cfg = Config.fromfile(
        str(ROOT / 'configs' / '_base_' / 'datasets' / 'k400_finetune.py'))
    pipeline = Compose(cfg.test_pipeline)
    results = pipeline(dict(filename=str(VIDEO), label=6, start_index=0,
                            modality='RGB'))
    inputs = results['inputs']
    # 5 clips x 3 crops = 15 views of (C, T, H, W) = (3, 16, 224, 224)
    assert tuple(inputs.shape) == (15, 3, 16, 224, 224)
    assert inputs.dtype == torch.uint8
    assert results['data_samples'].gt_label.item() == 6
    # 5 clips spread over the 280 frames, 16 frames 4 apart each
    sampled = Compose(cfg.test_pipeline[:2])(dict(
        filename=str(VIDEO), label=6, start_index=0, modality='RGB'))
    clips = sampled['frame_inds'].reshape(5, 16)
    assert (clips[:, 1:] - clips[:, :-1] == 4).all()
    assert clips[0, 0] < clips[-1, 0] and clips.max() < 280
    # the three crops of one clip differ (left, centre, right of 298x224)
    views = inputs.view(5, 3, 3, 16, 224, 224).float()
    assert not torch.equal(views[0, 0], views[0, 2])
