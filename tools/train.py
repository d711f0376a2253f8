"""Train a model from a config: ``python tools/train.py CONFIG [options]``."""
import argparse
import os
import os.path as osp
import time

from mmengine.config import Config

import mmvmae
from mmvmae.engine.runner_setup import (build_runner, build_runner_for,
                                        launch_rank, load_config,
                                        merge_common_args)
from mmvmae.models.utils.pretrained_loader import (is_checkpoint,
                                                   resolve_checkpoint)
from mmvmae.utils.config_check import (CfgOptionsAction,
                                       check_pretrained_checkpoints,
                                       exit_on_unknown_type)
from mmvmae.utils.data_check import check_data_files


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train an mmvmae model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and checkpoints'
                        ' (default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from a checkpoint PATH (a .pth file or a work dir), or '
        'with no value (or "auto") from the latest checkpoint in the work dir')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='start a new run in a work dir that holds the checkpoints of an '
        'earlier one (they are moved to WORK_DIR/earlier_run_<time>/ first); '
        'without it, such a work dir stops the run')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (fp16 with dynamic '
                        'loss scaling; bf16 configs set it themselves)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the real total batch size over '
                        "the config's auto_scale_lr.base_batch_size")
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='use a different seed on every rank')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (slower)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='override config settings, key=value (e.g. '
        'train_cfg.max_epochs=2 model.backbone.drop_path_rate=0.2)')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_train_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the training flags to ``cfg`` (command line wins)."""
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise SystemExit('error: --amp needs optim_wrapper.type '
                             f'OptimWrapper or AmpOptimWrapper, got '
                             f'{wrapper!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        try:  # a .pth file, or a work dir (its last_checkpoint)
            path = resolve_checkpoint(args.resume)
        except FileNotFoundError as error:
            raise SystemExit(f'error: --resume: {error}') from None
        if not is_checkpoint(path):
            raise SystemExit(f'error: --resume: no checkpoint file at {path}')
        cfg.resume, cfg.load_from = True, path
    if args.auto_scale_lr:
        if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
            raise SystemExit('error: --auto-scale-lr needs auto_scale_lr='
                             'dict(base_batch_size=...) in the config (or '
                             '--cfg-options auto_scale_lr.base_batch_size=N)')
        cfg.auto_scale_lr.enable = True
    # mmengine's Runner needs a `seed` key (None draws a random seed)
    randomness = {'seed': None, **(cfg.get('randomness') or {})}
    if args.seed is not None:
        randomness['seed'] = args.seed
    if args.diff_rank_seed:
        randomness['diff_rank_seed'] = True
    if args.deterministic:
        randomness['deterministic'] = True
    cfg.randomness = randomness
    return cfg


def resolve_auto_resume(cfg: Config) -> Config:
    """``resume`` without a checkpoint: the work dir's own latest one.

    mmengine would load the path in ``last_checkpoint`` as written, which in
    a copied or moved work dir is the original's file (or none at all)."""
    if cfg.get('resume') is True and not cfg.get('load_from') and \
            osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')):
        try:
            cfg.load_from = resolve_checkpoint(cfg.work_dir)
        except FileNotFoundError as error:
            raise SystemExit(f'error: --resume: {error}') from None
    return cfg


def resolve_load_from(cfg: Config) -> None:
    """``load_from`` may name a work dir (its ``last_checkpoint``), as
    ``--resume`` and ``tools/test.py`` take one."""
    path = cfg.get('load_from')
    if isinstance(path, str) and osp.isdir(path):
        try:
            cfg.load_from = resolve_checkpoint(path)
        except FileNotFoundError as error:
            raise SystemExit(f'error: load_from: {error}') from None


def refuse_zero_val_interval(cfg: Config) -> None:
    """mmengine divides by ``val_interval`` after the first epoch."""
    interval = (cfg.get('train_cfg') or {}).get('val_interval', 1)
    if cfg.get('val_cfg') and isinstance(interval, int) and interval < 1:
        raise SystemExit(f'error: train_cfg.val_interval must be >= 1, got '
                         f'{interval}; --no-validate trains without '
                         'validation')


def earlier_run(cfg: Config) -> list:
    """What an earlier run left in the work dir that this run would mix
    with or replace: its checkpoints (files, or DeepSpeed's folders, named
    ``*.pth``) and ``last_checkpoint``; none when this run continues the
    work dir's own run (a resume from a checkpoint in it)."""
    work_dir = cfg.work_dir
    if not osp.isdir(work_dir):
        return []
    resume_from = cfg.get('load_from') if cfg.get('resume') else None
    if resume_from and osp.dirname(osp.realpath(resume_from)) == \
            osp.realpath(work_dir):
        return []
    return sorted(f for f in os.listdir(work_dir)
                  if f.endswith('.pth') or f == 'last_checkpoint')


def set_aside_earlier_run(cfg: Config) -> None:
    """``--overwrite``: move an earlier run's checkpoints and
    ``last_checkpoint`` into ``WORK_DIR/earlier_run_<time>/`` (rank 0), so
    that the new run neither mixes with them nor resumes them; nothing is
    deleted."""
    names = earlier_run(cfg)
    if not names or launch_rank(cfg.launcher) != 0:
        return
    aside = osp.join(cfg.work_dir,
                     time.strftime('earlier_run_%Y%m%d_%H%M%S'))
    taken = aside
    for number in range(1, 1000):
        if not osp.exists(taken):
            break
        taken = f'{aside}_{number}'
    os.makedirs(taken)
    for name in names:
        os.replace(osp.join(cfg.work_dir, name), osp.join(taken, name))
    print(f'--overwrite: moved the earlier run\'s {", ".join(names)} to '
          f'{taken}', flush=True)


def refuse_to_overwrite(cfg: Config) -> None:
    """Stop a run before it replaces the checkpoints an earlier run left
    in its work dir: a new run, or a resume from a checkpoint outside that
    work dir (another run's), or a ``--resume`` that found no
    ``last_checkpoint`` to continue."""
    work_dir = cfg.work_dir
    resume_from = cfg.get('load_from') if cfg.get('resume') else None
    names = earlier_run(cfg)
    earlier = [name for name in names if name != 'last_checkpoint']
    if cfg.get('resume') and not resume_from and earlier:
        latest = max(earlier,
                     key=lambda name: osp.getmtime(osp.join(work_dir, name)))
        raise SystemExit(
            f'error: --resume: work dir {work_dir} has no last_checkpoint to '
            f'continue from, but holds checkpoints ({", ".join(earlier[:3])}'
            f'{", ..." if len(earlier) > 3 else ""}); name the one to resume: '
            f'--resume {osp.join(work_dir, latest)}, or start over there '
            'with --overwrite')
    if names:
        shown = ', '.join(earlier[:3]) + (', ...' if len(earlier) > 3
                                          else '') or 'last_checkpoint'
        run, advice = (
            f'a run resumed from {resume_from} (another run\'s checkpoint)',
            'Resume it into another --work-dir') if resume_from else (
            'a new run', 'Continue that run with --resume, train into '
            'another --work-dir')
        raise SystemExit(
            f'error: work dir {work_dir} holds the checkpoints of an earlier '
            f'run ({shown}); {run} would replace them. {advice}, or start '
            'over there with --overwrite')


def refuse_sharding_on_cpu(cfg: Config) -> None:
    """mmengine's FSDP strategy needs a GPU and its DeepSpeed strategy the
    deepspeed package; say so before the run starts."""
    import importlib.util

    from mmengine.device import get_device
    strategy = str((cfg.get('strategy') or {}).get('type', ''))
    if strategy not in ('FSDPStrategy', 'DeepSpeedStrategy'):
        return
    if get_device() == 'cpu':
        raise SystemExit(f'error: strategy {strategy} (the *_fsdp.py / '
                         '*_deepspeed.py configs) needs GPUs; train with the '
                         'plain config on this machine')
    if strategy == 'DeepSpeedStrategy' and \
            importlib.util.find_spec('deepspeed') is None:
        raise SystemExit('error: strategy DeepSpeedStrategy needs the '
                         'deepspeed package: pip install deepspeed')


def refuse_amp_on_cpu(cfg: Config) -> None:
    """mmengine's ``AmpOptimWrapper`` asserts a GPU (CUDA, NPU, MLU or MUSA)
    when it is built; say so before the run starts."""
    from mmengine.device import get_device
    wrapper = str((cfg.get('optim_wrapper') or {}).get('type', ''))
    if 'AmpOptimWrapper' in wrapper and get_device() == 'cpu':
        raise SystemExit(
            f'error: optim_wrapper {wrapper} (mixed precision: --amp or a '
            '*_bf16.py / *_fp16.py config) needs a GPU, mmengine refuses it '
            'on CPU; train without --amp or with the fp32 config')


def main() -> None:
    args = parse_args()
    mmvmae.register_all_modules()
    cfg = load_config(args.config)
    # options first, then the flags (as mmaction2): a flag wins, and checks
    # it (--no-validate, --amp, --auto-scale-lr) see the merged config
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg = merge_common_args(cfg, args)
    cfg = merge_train_args(cfg, args)
    resolve_load_from(cfg)
    refuse_zero_val_interval(cfg)
    resolve_auto_resume(cfg)
    if not args.overwrite:
        refuse_to_overwrite(cfg)
    refuse_amp_on_cpu(cfg)
    refuse_sharding_on_cpu(cfg)
    check_data_files(cfg, ('train', 'val'))
    path = cfg.get('load_from')
    resuming = cfg.get('resume') and path and osp.isfile(path)
    with exit_on_unknown_type(cfg):
        if not resuming:  # a resume replaces the pretrained weights
            check_pretrained_checkpoints(cfg)
        if args.overwrite:  # the checks passed: this run will start
            set_aside_earlier_run(cfg)
        # a resume reads all of its checkpoint: it must fit
        runner = build_runner_for(cfg, path, '--resume: ') if resuming \
            else build_runner(cfg)
        runner.train()


if __name__ == '__main__':
    main()
