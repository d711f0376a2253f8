"""FSDP/DeepSpeed/accumulation configs build (their runs need GPUs)."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import RUNNERS, STRATEGIES

from mmvmae.engine.runner_setup import prepare_train_cfg
from mmvmae.registry import MODELS, OPTIM_WRAPPERS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'pretrain'
FLEXIBLE = sorted(CONFIGS.glob('*_fsdp.py')) + sorted(
    CONFIGS.glob('*_deepspeed.py'))
ARCHS = {'large': (1024, 24), 'huge': (1280, 32), 'giant': (1408, 40)}


def test_every_large_model_has_fsdp_and_deepspeed_configs():
    names = [p.name for p in FLEXIBLE]
    for arch in ARCHS:
        for kind in ('fsdp', 'deepspeed'):
            assert any(arch in n and n.endswith(f'_{kind}.py')
                       for n in names), (arch, kind)


@pytest.mark.parametrize('path', FLEXIBLE, ids=lambda p: p.name)
def test_flexible_runner_config_builds(path):
    cfg = prepare_train_cfg(Config.fromfile(path))
    assert RUNNERS.get(cfg.runner_type).__name__ == 'FlexibleRunner'
    strategy = STRATEGIES.get(cfg.strategy.type)
    kind = 'fsdp' if path.name.endswith('_fsdp.py') else 'deepspeed'
    assert strategy.__name__ == {'fsdp': 'FSDPStrategy',
                                 'deepspeed': 'DeepSpeedStrategy'}[kind]
    wrapper = OPTIM_WRAPPERS.get(cfg.optim_wrapper.type)
    assert wrapper is not None and 'optimizer' in cfg.optim_wrapper
    if kind == 'deepspeed':
        assert wrapper.__name__ == 'DeepSpeedOptimWrapper'
    arch = next(a for a in ARCHS if a in path.name)
    backbone = MODELS.get(cfg.model.backbone.type)
    assert backbone is not None
    # the encoder width feeds the decoder: same numbers as the arch table
    assert cfg.model.neck.in_channels == ARCHS[arch][0]
    assert cfg.auto_scale_lr.enable and cfg.auto_scale_lr.base_batch_size
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'SampleSeededDataset'  # default_runtime's switch
    if 'videomaev2' in path.name:  # 4 repeated clips per item
        assert cfg.auto_scale_lr.num_repeats == \
            dataset.dataset.num_repeats == 4


def test_fsdp_with_norm_clipping_is_refused():
    cfg = Config.fromfile(CONFIGS /
                          'videomaev2_vit-giant_k400-pretrain-800e_fsdp.py')
    cfg.optim_wrapper.clip_grad = dict(max_norm=0.02)
    with pytest.raises(ValueError, match='clip_grad.*FSDPStrategy'):
        prepare_train_cfg(cfg)


def test_accumulation_config_keeps_the_recipe_batch():
    cfg = Config.fromfile(CONFIGS /
                          'videomae_vit-base_k400-pretrain-800e_accumulate.py')
    clips = 8 * cfg.train_dataloader.batch_size * \
        cfg.optim_wrapper.accumulative_counts
    assert clips == 2048  # the recipe's batch on 8 GPUs
    assert cfg.auto_scale_lr.enable
