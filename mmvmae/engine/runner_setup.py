"""What ``tools/train.py`` and ``tools/test.py`` share: work dir, launcher
and runner construction."""
import argparse
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dist import get_world_size
from mmengine.runner import Runner


def merge_common_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Work dir (command line > config > ``./work_dirs/<config name>``) and
    launcher; on machines without CUDA, distributed runs use gloo."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = args.launcher
    if args.launcher != 'none' and not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', {})
        env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build the runner the config names (``runner_type``, e.g.
    ``FlexibleRunner`` for FSDP/DeepSpeed) or mmengine's ``Runner``."""
    if 'runner_type' in cfg:
        from mmvmae.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.logger.info(f'world size: {get_world_size()}, launcher: '
                       f'{cfg.launcher}, work dir: {cfg.work_dir}')
    return runner
