"""Every detection config parses; the ViT-B one builds and runs on an AVA
test-sized clip (256 x 341, padded to the patch grid)."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmvmae.registry import MODELS

CONFIGS = sorted((Path(__file__).resolve().parents[2] / 'configs' /
                  'detection').glob('*.py'))


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_parses_with_the_recipe(path):
    cfg = Config.fromfile(str(path))
    assert cfg.model.type == 'AVADetector'
    assert cfg.model.roi_head.roi_size == 8
    if 'demo' in path.stem:
        return
    large = 'large' in path.stem
    assert cfg.optim_wrapper.optimizer.lr == (2.5e-4 if large else 1.25e-4)
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == (
        0.8 if large else 0.75)
    assert cfg.model.backbone.drop_path_rate == 0.2
    assert cfg.optim_wrapper.clip_grad.max_norm == 40
    assert cfg.train_cfg.max_epochs == 20
    assert cfg.val_evaluator.type == 'AVAFrameMAP'


def test_vit_base_detector_runs_on_an_ava_sized_clip():
    cfg = Config.fromfile(str(CONFIGS[0].parent /
                              'videomae_vit-base_ava22.py'))
    cfg.model.backbone.arch = dict(embed_dims=768, depth=1, num_heads=12)
    cfg.model.backbone.pop('init_cfg')
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        feat = model(torch.randn(1, 3, 16, 256, 341))
    assert feat.shape == (1, 768, 8, 16, 22)
