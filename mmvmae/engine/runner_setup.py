"""What ``tools/train.py`` and ``tools/test.py`` share: work dir, launcher
and runner construction."""
import argparse
import logging
import os
import os.path as osp
from contextlib import contextmanager, nullcontext
from typing import Iterator

import torch
from mmengine.config import Config
from mmengine.dist import get_world_size, master_only
from mmengine.logging import print_log
from mmengine.runner import FlexibleRunner, Runner

from mmvmae.datasets.robust_seeding import enable_sample_seeding
from mmvmae.engine.optimizers.finite_loss_optim_wrapper import \
    use_finite_loss_wrappers
from mmvmae.utils.config_check import (CheckpointError, ConfigError,
                                       check_blending_classes,
                                       check_checkpoint_fits,
                                       load_checkpoint_safely, read_config)
from mmvmae.utils.malloc import keep_freed_memory
from mmvmae.utils.upstream_fixes import (fix_compile_data_preprocessor,
                                         fix_compile_numpy_fields)


def load_config(path: str) -> Config:
    """The config file of a tool's command line; a missing file, or one
    that does not load (a syntax error), is a one-line error."""
    if not osp.isfile(path):
        raise SystemExit(f'error: no config file at {path}')
    try:
        return read_config(path)
    except (FileNotFoundError, ValueError) as error:  # e.g. a _base_ file
        raise SystemExit(f'error: {error}') from None


# the variable each launcher sets to a process's rank
LAUNCHER_RANKS = dict(pytorch='RANK', slurm='SLURM_PROCID',
                      mpi='OMPI_COMM_WORLD_RANK')


def launch_rank(launcher: str) -> int:
    """This process's rank, from its launcher's variable (before the
    process group exists); 0 without a launcher."""
    variable = LAUNCHER_RANKS.get(launcher)
    return int(os.environ.get(variable, 0)) if variable else 0


def merge_common_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Work dir (command line > config > ``./work_dirs/<config name>``) and
    launcher; on machines without CUDA, distributed runs use gloo."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if osp.exists(cfg.work_dir) and not osp.isdir(cfg.work_dir):
        raise SystemExit(f'error: work dir {cfg.work_dir} is a file, not a '
                         'folder (--work-dir)')
    cfg.launcher = args.launcher
    needs = LAUNCHER_RANKS.get(args.launcher)
    if needs and needs not in os.environ:
        raise SystemExit(
            f'error: --launcher {args.launcher} needs the process variables '
            f'its launcher sets ({needs} is not set); start with '
            'tools/dist_train.sh / dist_test.sh (torchrun), or srun for '
            'slurm, or drop --launcher for one process')
    if args.launcher != 'none' and not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', {})
        env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
        # mmengine's default DDP wrapping passes device_ids=[LOCAL_RANK],
        # which DDP rejects for CPU modules: CPU DDP needs device_ids=None
        if cfg.get('runner_type') is None:
            wrapper = cfg.get('model_wrapper_cfg') or dict(
                type='MMDistributedDataParallel', broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters',
                                               False))
            wrapper.setdefault('device_ids', None)
            cfg.model_wrapper_cfg = wrapper
    return cfg


def prepare_train_cfg(cfg: Config, training: bool = True) -> Config:
    """mmvmae's training defaults, applied in place: optimizer wrappers that
    stop on a non-finite loss, ``sample_seeding=True`` turned into the
    per-sample seeded sampler and dataset (``docs/robustness.md``,
    ``docs/distributed.md``), and Mixup / CutMix classes checked against
    the head's."""
    optim_wrapper = cfg.get('optim_wrapper')
    use_finite_loss_wrappers(optim_wrapper)
    strategy = cfg.get('strategy') or {}
    if strategy.get('type') == 'FSDPStrategy' and optim_wrapper and \
            optim_wrapper.get('type') == 'FiniteLossAmpOptimWrapper':
        optim_wrapper.setdefault('use_fsdp', True)  # as mmengine does
    if strategy.get('type') == 'FSDPStrategy' and optim_wrapper and \
            (optim_wrapper.get('clip_grad') or {}).get('max_norm'):
        # mmengine clips each rank's FSDP shard by its own norm
        raise ConfigError(
            'optim_wrapper.clip_grad with max_norm is not supported with '
            "strategy FSDPStrategy (mmengine 0.10.7 clips each rank's shard "
            'separately); remove clip_grad or use DeepSpeedStrategy with '
            'gradient_clipping (docs/distributed.md)')
    if cfg.get('sample_seeding', False):
        enable_sample_seeding(cfg.get('train_dataloader'))
    if training:  # Mixup / CutMix run in training only
        check_blending_classes(cfg.get('model'))
        warn_schedule_ends_early(cfg)
    return cfg


def warn_schedule_ends_early(cfg: Config) -> None:
    """Warn when the epoch-based parameter schedule ends before
    ``train_cfg.max_epochs`` (e.g. ``--cfg-options train_cfg.max_epochs``
    raised alone): the last epochs run at the schedule's end value."""
    max_epochs = (cfg.get('train_cfg') or {}).get('max_epochs')
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    ends = [s.get('end') for s in schedulers
            if isinstance(s, dict) and s.get('by_epoch', True)]
    if not isinstance(max_epochs, int) or not ends or \
            not all(isinstance(end, int) for end in ends):
        return  # iteration-based, open-ended or not a list of dicts
    if max(ends) < max_epochs:
        print_log(
            f'param_scheduler ends at epoch {max(ends)}, train_cfg.max_epochs '
            f'is {max_epochs}: epochs {max(ends) + 1}-{max_epochs} run at '
            'the end value (lr). Restate param_scheduler for the new length '
            '(its lengths are computed when the config is read)',
            logger='current', level=logging.WARNING)


# mmengine's runner classes that define ``dump_config`` (the runners
# registered in mmengine, mmaction2 and mmvmae are these or derive from them)
_CONFIG_DUMPING_RUNNERS = (Runner, FlexibleRunner)


@master_only
def _dump_config_in_log_dir(runner) -> None:
    """mmengine's ``dump_config``, into ``<work dir>/<timestamp>/``."""
    filename = osp.basename(runner.cfg.filename) \
        if runner.cfg.filename is not None else f'{runner.timestamp}.py'
    runner.cfg.dump(osp.join(runner.log_dir, filename))


@contextmanager
def _config_dump_in_log_dir() -> Iterator[None]:
    """Runners built inside dump their config into their run's own folder.

    ``Runner.__init__`` (and ``FlexibleRunner``'s) dumps the config to
    ``<work dir>/<config file name>`` once ``log_dir`` exists; a test run
    in a training work dir (tools/test.py's default) would replace the
    training run's dump. mmengine offers no option for the place, so the
    method is swapped on the classes only while the runner is built."""
    saved = [(cls, cls.__dict__['dump_config'])
             for cls in _CONFIG_DUMPING_RUNNERS]
    try:
        for cls, _ in saved:
            cls.dump_config = _dump_config_in_log_dir
        yield
    finally:
        for cls, method in saved:
            cls.dump_config = method


def build_runner(cfg: Config, training: bool = True) -> Runner:
    """Build the runner the config names (``runner_type``, e.g.
    ``FlexibleRunner`` for FSDP/DeepSpeed) or mmengine's ``Runner``. A
    training runner dumps its config into the work dir, as mmengine's does;
    any other, into its run's ``<work dir>/<timestamp>/`` (the training
    run's dump is kept)."""
    prepare_train_cfg(cfg, training)
    # before any dataloader worker starts (they inherit it)
    keep = bool(cfg.get('keep_freed_memory', False))
    kept = keep and keep_freed_memory(children=True)
    if cfg.get('compile'):
        fix_compile_numpy_fields()
        fix_compile_data_preprocessor()
    with nullcontext() if training else _config_dump_in_log_dir():
        if 'runner_type' in cfg:
            from mmvmae.registry import RUNNERS
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
    runner.logger.info(f'world size: {get_world_size()}, launcher: '
                       f'{cfg.launcher}, work dir: {cfg.work_dir}')
    if keep:
        runner.logger.log(
            logging.INFO if kept else logging.WARNING,
            'keep_freed_memory: ' + ('glibc keeps freed memory for reuse '
                                     '(this process and its data workers)'
                                     if kept else 'ignored, the C library '
                                     'is not glibc'))
    return runner


def refuse_weights_only_resume(state: dict, checkpoint: str) -> None:
    """A resume continues from the epoch and iteration of a training
    checkpoint; a converted or weights-only file has none (mmengine would
    fail with ``KeyError: 'epoch'``)."""
    meta = state.get('meta')
    if not (isinstance(meta, dict) and 'epoch' in meta and 'iter' in meta):
        raise CheckpointError(
            f'{checkpoint} holds weights, not the state of a training run '
            '(epoch, iteration) to resume; start a new run from its weights '
            f'with --cfg-options load_from={checkpoint}')


def build_runner_for(cfg: Config, checkpoint: str, option: str = '',
                     training: bool = True) -> Runner:
    """:func:`build_runner` for a run that loads all of ``checkpoint``
    (testing, resuming): it must read (checked before anything is built)
    and fit the model exactly; else a one-line ``error: {option}...``
    exit."""
    try:
        # shapes only: the tensors are mapped, the runner reads them
        state = load_checkpoint_safely(checkpoint, mmap=True)
        if training and cfg.get('resume'):
            refuse_weights_only_resume(state, checkpoint)
        runner = build_runner(cfg, training)
        check_checkpoint_fits(runner.model, state, checkpoint)
    except CheckpointError as error:
        raise SystemExit(f'error: {option}{error}') from None
    if training and cfg.get('resume'):
        skip_pretrained_init(runner, checkpoint)
    return runner


# initialisers that load weights from a file
_PRETRAINED_INITS = ('Pretrained', 'VideoMAEPretrained')


def skip_pretrained_init(runner: Runner, checkpoint: str) -> None:
    """A resume replaces every weight (the checkpoint fits the model): the
    model's initialisation from pretrained files is skipped, so that a run
    resumes where those files are gone (another machine) without reading
    them. mmengine initialises the model before it resumes."""
    model = getattr(runner.model, 'module', runner.model)
    if not isinstance(model, torch.nn.Module):  # FlexibleRunner: later
        return
    skipped = []
    for name, module in model.named_modules():
        init_cfg = getattr(module, 'init_cfg', None)
        inits = init_cfg if isinstance(init_cfg, list) else [init_cfg]
        kept = [init for init in inits if not (
            isinstance(init, dict) and init.get('type') in _PRETRAINED_INITS)]
        if len(kept) < len(inits):
            module.init_cfg = kept or None
            skipped.append(name or 'model')
    if skipped:
        runner.logger.info(
            f'resuming from {checkpoint}: the pretrained initialisation of '
            f'{", ".join(skipped)} is skipped (the checkpoint holds every '
            'weight)')
