"""Every fine-tuning config loads, names registered parts, and builds."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import FUNCTIONS

from mmvmae.registry import (DATASETS, METRICS, MODELS,
                             OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                             PARAM_SCHEDULERS, TRANSFORMS)

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'finetune'
CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('*.py'))
WIDTH = dict(small=384, base=768, large=1024, huge=1280)


def pipelines(dataset: dict):
    while 'dataset' in dataset:  # wrappers (repeated sampling)
        assert DATASETS.get(dataset['type']) is not None, dataset['type']
        dataset = dataset['dataset']
    assert DATASETS.get(dataset['type']) is not None, dataset['type']
    return dataset['pipeline']


def test_configs_found():
    assert len(CONFIGS) >= 14


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds(name):
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    model_cfg = cfg.model
    head, backbone = model_cfg.cls_head, model_cfg.backbone
    arch = backbone.arch
    width = arch['embed_dims'] if isinstance(arch, dict) else WIDTH[arch]
    assert head.in_channels == width
    blending = model_cfg.data_preprocessor.get('blending')
    if blending:
        assert {a['num_classes'] for a in blending.augments} == {
            head.num_classes}
    for part in ('train', 'val', 'test'):
        loader = cfg.get(f'{part}_dataloader')
        if loader is None:
            continue
        for step in pipelines(loader.dataset):
            assert TRANSFORMS.get(step['type']) is not None, step['type']
        collate = loader.get('collate_fn')
        if collate:
            assert FUNCTIONS.get(collate['type']) is not None
    assert METRICS.get(cfg.test_evaluator['type']) is not None
    if cfg.get('optim_wrapper'):
        assert OPTIM_WRAPPERS.get(cfg.optim_wrapper.type) is not None
        assert OPTIM_WRAPPER_CONSTRUCTORS.get(
            cfg.optim_wrapper.constructor) is not None
        for scheduler in cfg.param_scheduler:
            assert PARAM_SCHEDULERS.get(scheduler['type']) is not None
        assert cfg.param_scheduler[-1]['end'] == cfg.train_cfg.max_epochs
    # build: tiny models for real, the others without allocating weights
    backbone.init_cfg = None
    assert MODELS.build(model_cfg.data_preprocessor) is not None
    model_cfg.data_preprocessor.blending = None  # torch.distributions: no meta
    device = 'cpu' if isinstance(arch, dict) else 'meta'
    with torch.device(device):
        model = MODELS.build(model_cfg)
    assert model.cls_head.fc_cls.out_features == head.num_classes
    assert len(model.backbone.blocks) == (
        arch['depth'] if isinstance(arch, dict) else
        dict(small=12, base=12, large=24, huge=32)[arch])
