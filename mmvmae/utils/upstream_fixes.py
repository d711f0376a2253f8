"""Workarounds for known breakages of the dependency stack, in one place.

Each fix names the upstream bug it answers (see ``docs/STACK.md`` of the
project notes) and is idempotent. :func:`apply_upstream_fixes` runs when
``mmvmae`` is imported, before anything imports ``mmaction.models``.
"""
import importlib
import importlib.metadata
import importlib.util
import logging
import os.path as osp
import sys
import types
import warnings
from typing import Optional

import numpy as np

_APPLIED = False


def fix_missing_drn() -> None:
    """mmaction2 1.2.0 wheel lacks ``mmaction/models/localizers/drn/``.

    Upstream: open-mmlab/mmaction2 issue 2714 (fix PR 2721, never released).
    ``localizers/__init__.py`` imports ``DRN`` from it, so ``import
    mmaction.models`` fails. We register stand-in modules whose ``DRN``
    raises a clear error when used.
    """
    if importlib.util.find_spec('mmaction') is None:
        return
    name = 'mmaction.models.localizers.drn'
    if name in sys.modules:
        return
    spec = importlib.util.find_spec('mmaction')
    real = osp.join(osp.dirname(spec.origin), 'models', 'localizers', 'drn',
                    'drn.py')
    if osp.exists(real):
        return

    class DRN:  # noqa: D401 - placeholder
        """Placeholder: DRN is missing from the mmaction2 1.2.0 wheel."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'DRN is not packaged in the mmaction2 1.2.0 wheel '
                '(open-mmlab/mmaction2 issue 2714); install mmaction2 from '
                'source to use it.')

    package = types.ModuleType(name)
    package.__path__ = []  # a package, so ``drn.drn`` can be imported
    module = types.ModuleType(name + '.drn')
    module.DRN = DRN
    package.drn = module
    sys.modules[name] = package
    sys.modules[name + '.drn'] = module


def fix_importlib_metadata() -> None:
    """``mmaction/utils/dependency.py`` imports the undeclared backport.

    The mmaction2 1.2.0 wheel does not declare ``importlib_metadata``; the
    standard library's ``importlib.metadata`` offers the two names it uses
    (``PackageNotFoundError`` and ``distribution``).
    """
    if importlib.util.find_spec('importlib_metadata') is None:
        sys.modules.setdefault('importlib_metadata', importlib.metadata)


def fix_multimodal_import() -> None:
    """mmaction2 imports VindLU whenever transformers >= 4.28 is installed.

    VindLU needs timm (and so torchvision, which has no CPU wheel here) and
    fails with transformers 5.x (``apply_chunking_to_forward`` is gone). We
    make mmaction register its placeholders instead, as it does when
    transformers is absent. mmvmae uses none of the multimodal models.
    """
    if importlib.util.find_spec('mmaction') is None:
        return
    dependency = importlib.import_module('mmaction.utils.dependency')
    dependency.WITH_MULTIMODAL = False


def _distribution_or_none(package: str):
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _is_installed(package: str) -> bool:
    if _distribution_or_none(package) is not None:
        return True
    spec = importlib.util.find_spec(package)
    return spec is not None and spec.origin is not None


def _package2module(package: str) -> str:
    dist = _distribution_or_none(package)
    if dist is None:
        raise ValueError(f'can not infer the module name of {package}')
    top_level = dist.read_text('top_level.txt')
    if top_level:
        return top_level.split('\n')[0]
    # wheels without top_level.txt: the first top-level package in RECORD
    for file in dist.files or []:
        parts = file.parts
        if len(parts) > 1 and parts[-1] == '__init__.py':
            return parts[0]
    raise ValueError(f'can not infer the module name of {package}')


def _get_installed_path(package: str) -> str:
    dist = _distribution_or_none(package)
    if dist is None:
        spec = importlib.util.find_spec(package)
        if spec is None:
            raise importlib.metadata.PackageNotFoundError(package)
        if spec.origin is None:
            raise RuntimeError(f'{package} is a namespace package, which is '
                               'invalid for `get_install_path`')
        return osp.dirname(spec.origin)
    location = str(dist.locate_file(''))
    possible = osp.join(location, package)
    if osp.exists(possible):
        return possible
    return osp.join(location, _package2module(package))


def fix_pkg_resources() -> None:
    """mmengine 0.10.7 imports ``pkg_resources``; setuptools >= 82 dropped it.

    It is used by ``mmengine.utils.package_utils`` (``is_installed``,
    ``get_installed_path``, ``package2module``), which back ``mmaction::``
    style config paths and package look-ups. We rebind those functions to
    ``importlib.metadata`` versions in every mmengine module that imported
    them.
    """
    if importlib.util.find_spec('pkg_resources') is not None:
        return
    replacements = {
        'is_installed': _is_installed,
        'get_installed_path': _get_installed_path,
        'package2module': _package2module,
    }
    module_names = ['mmengine.utils.package_utils', 'mmengine.utils',
                    'mmengine.config.utils', 'mmengine.config.config',
                    'mmengine.hub.hub', 'mmengine.hub']
    for module_name in module_names:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for attr, func in replacements.items():
            if hasattr(module, attr):
                setattr(module, attr, func)


def fix_numpy2_names() -> None:
    """numpy 2 removed aliases that mmaction2 1.2.0 still uses.

    ``np.NAN`` (AVA evaluation, hit when a class has no ground truth),
    ``np.trapz`` (proposal AUC), ``np.in1d`` (retrieval metric) and
    ``np.Inf`` (pose transforms, ``mmaction.utils.misc``).
    """
    aliases = {
        'NAN': np.nan,
        'Inf': np.inf,
        'trapz': getattr(np, 'trapezoid', None),
        'in1d': np.isin,
    }
    for name, value in aliases.items():
        if value is None:
            continue
        try:
            getattr(np, name)
        except AttributeError:
            setattr(np, name, value)


def _history_buffer_method(owner, name: str):
    """A ``getattr`` restricted to :class:`HistoryBuffer`'s statistics.

    A HistoryBuffer pickles its ``_statistics_methods`` as
    ``getattr(HistoryBuffer, 'min')`` and so on. Allowing the real
    ``getattr`` would let a checkpoint reach any attribute (and so run code),
    so only these look-ups are answered.
    """
    import pickle

    from mmengine.logging import HistoryBuffer
    # the four built-in statistics (registered lazily, on the first
    # HistoryBuffer) and any registered with ``register_statistics``
    allowed = {'min', 'max', 'current', 'mean',
               *HistoryBuffer._statistics_methods}
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refused getattr({owner!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer statistics methods may be looked up')


def mmengine_checkpoint_globals() -> list:
    """The globals a full mmengine checkpoint pickles besides tensors.

    ``message_hub`` holds :class:`HistoryBuffer` objects whose state has numpy
    arrays and scalars and their statistics methods (looked up with
    ``getattr``, which is replaced by a restricted version); ``meta`` may hold
    numpy scalars (seeds) and ``collections`` containers.
    """
    import collections

    from mmengine.logging import HistoryBuffer

    core = getattr(np, '_core', None) or np.core
    allowed = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        core.multiarray._reconstruct,
        core.multiarray.scalar,
        collections.OrderedDict,
        collections.defaultdict,
        (_history_buffer_method, 'builtins.getattr'),
    ]
    # numpy dtype classes (``numpy.dtypes.Float64DType`` ...) pickled with
    # the arrays' dtypes
    allowed += [
        getattr(np.dtypes, name) for name in dir(np.dtypes)
        if name.endswith('DType')
    ]
    # numpy scalar types (``np.float64(0.1)`` pickles its type)
    allowed += [
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
        np.uint32, np.uint64, np.float16, np.float32, np.float64
    ]
    return allowed


def fix_weights_only_loading() -> None:
    """torch >= 2.6 loads with ``weights_only=True`` by default.

    mmengine 0.10.7 calls ``torch.load`` without the argument, so resuming or
    ``load_from`` with a full mmengine checkpoint raises ``UnpicklingError``.
    Instead of turning ``weights_only`` off (which would let a checkpoint
    run arbitrary code), we extend the allowlist with exactly the globals
    mmengine checkpoints need.
    """
    import torch.serialization

    if not hasattr(torch.serialization, 'add_safe_globals'):
        return
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def _extra_batch_factor(optim_wrapper, dataset, auto_scale_lr: dict):
    """``(accumulative_counts, num_repeats)`` that mmengine leaves out of
    the batch size of ``auto_scale_lr``."""
    from mmengine.optim import OptimWrapperDict
    wrappers = list(optim_wrapper.values()) if isinstance(
        optim_wrapper, OptimWrapperDict) else [optim_wrapper]
    counts = {getattr(w, '_accumulative_counts', 1) for w in wrappers}
    if len(counts) != 1:
        raise ValueError('auto_scale_lr: optimizer wrappers with different '
                         f'accumulative_counts {sorted(counts)}')
    # a num_repeats stated in auto_scale_lr wins (fine-tuning states 1: its
    # lr is per video); else the dataset's (RepeatedSamplingDataset)
    repeats = auto_scale_lr.get('num_repeats')
    if repeats is None and dataset is not None:
        repeats = getattr(dataset, 'num_repeats', None)
    return counts.pop(), int(1 if repeats is None else repeats)


def _rescale(optim_wrapper, factor: float,
             base_factor: Optional[float] = None) -> None:
    """Scale the lr of the param groups by ``factor`` and that of the
    wrapper's ``base_param_settings`` (the ``base_lr`` the log shows with
    several groups, e.g. layer decay; mmengine's own scaling leaves it out)
    by ``base_factor`` (default ``factor``)."""
    from mmengine.optim import OptimWrapperDict
    wrappers = list(optim_wrapper.values()) if isinstance(
        optim_wrapper, OptimWrapperDict) else [optim_wrapper]
    for wrapper in wrappers:
        for group in wrapper.optimizer.param_groups:
            group['lr'] = group['lr'] * factor
        base = getattr(wrapper, 'base_param_settings', None)
        if base is not None and 'lr' in base:
            base['lr'] = base['lr'] * (
                factor if base_factor is None else base_factor)


def fix_auto_scale_lr_accumulation() -> None:
    """mmengine 0.10.7's ``auto_scale_lr`` counts ``world_size x
    batch_size`` only (``Runner.scale_lr``, ``BaseStrategy._scale_lr``).

    With ``accumulative_counts=k`` an optimizer step sees k times more
    clips, and with repeated sampling (``RepeatedSamplingDataset``) each
    item is ``num_repeats`` clips, so the recipe's lr per 256 clips came out
    k (x num_repeats) times too small. After mmengine's scaling we multiply
    the lr by ``accumulative_counts x num_repeats``: the effective batch is
    ``world_size x batch_size x accumulative_counts x num_repeats`` clips.
    ``num_repeats`` is ``auto_scale_lr.num_repeats`` where a config states
    it (``FlexibleRunner``, whose strategy does not see the dataset; the
    fine-tuning schedule, whose lr is per video), else the training
    dataset's (``Runner``; read from the train loop's dataloader, which
    ``Runner.train`` builds before ``scale_lr`` while it keeps the dict in
    ``_train_dataloader``). ``DeepSpeedStrategy`` ignored
    ``auto_scale_lr`` altogether; it now scales too (counting DeepSpeed's
    ``gradient_accumulation_steps``).
    """
    from mmengine._strategy.base import BaseStrategy
    from mmengine.logging import print_log
    from mmengine.runner import Runner

    if getattr(Runner.scale_lr, '_mmvmae_fixed', False):
        return
    runner_scale_lr = Runner.scale_lr
    strategy_scale_lr = BaseStrategy._scale_lr

    def _log_and_rescale(optim_wrapper, dataset, cfg, world_size, bs,
                         accumulation=None):
        counts, repeats = _extra_batch_factor(optim_wrapper, dataset, cfg)
        counts = accumulation or counts  # DeepSpeed accumulates by its own
        effective = world_size * bs * counts * repeats
        own = getattr(dataset, 'num_repeats', None)
        note = f' (as auto_scale_lr states; the dataset repeats {own})' \
            if own is not None and own != repeats else ''
        print_log(
            f'auto_scale_lr: effective batch {effective} clips = '
            f'{world_size} processes x batch {bs} x accumulative_counts '
            f'{counts} x num_repeats {repeats}{note}; lr scaled by '
            f"{effective / cfg['base_batch_size']} in all (mmengine's "
            f'factor, logged above, x {counts * repeats})',
            logger='current')
        # mmengine scaled the groups by world_size x batch / base only, and
        # not the logged base lr
        _rescale(optim_wrapper, counts * repeats,
                 base_factor=effective / cfg['base_batch_size'])

    def scale_lr(self, optim_wrapper, auto_scale_lr=None) -> None:
        runner_scale_lr(self, optim_wrapper, auto_scale_lr)
        if not (auto_scale_lr or {}).get('enable', False):
            return
        loader = self._train_dataloader
        if isinstance(loader, dict) and hasattr(self._train_loop,
                                                'dataloader'):
            # Runner.train builds the loop (and its dataloader) before
            # scale_lr but keeps the dict in _train_dataloader: the dataset
            # (and its num_repeats) is the loop's
            loader = self._train_loop.dataloader
        if isinstance(loader, dict):
            bs, dataset = loader['batch_size'], None
        else:
            bs, dataset = loader.batch_size, loader.dataset
        _log_and_rescale(optim_wrapper, dataset, auto_scale_lr,
                         self.world_size, bs)

    def _scale_lr(self) -> None:
        strategy_scale_lr(self)
        cfg = self._auto_scale_lr
        if not (cfg or {}).get('enable', False):
            return
        batch = self.dispatch_kwargs['train_micro_batch_size_per_gpu']
        # DeepSpeed accumulates by its config, not accumulative_counts
        steps = (getattr(self, 'config', None) or {}).get(
            'gradient_accumulation_steps')
        _log_and_rescale(self.optim_wrapper, None, cfg, self.world_size,
                         batch, steps)

    scale_lr._mmvmae_fixed = True
    Runner.scale_lr = scale_lr
    BaseStrategy._scale_lr = _scale_lr

    # DeepSpeedStrategy.prepare never calls _scale_lr: auto_scale_lr was
    # silently ignored. Scale right after its optimizer is built (before the
    # parameter schedulers read the lr).
    try:
        from mmengine._strategy.deepspeed import DeepSpeedStrategy
    except ImportError:
        return
    build = DeepSpeedStrategy.build_optim_wrapper

    def build_optim_wrapper(self, optim_wrapper, model=None):
        self.optim_wrapper = build(self, optim_wrapper, model)
        self._scale_lr()
        return self.optim_wrapper

    DeepSpeedStrategy.build_optim_wrapper = build_optim_wrapper


def fix_cpu_init_dist() -> None:
    """mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device``
    unconditionally (pytorch, slurm and mpi launchers).

    On a CPU-only torch build that raises ``AttributeError: module
    'torch._C' has no attribute '_cuda_setDevice'``, so ``tools/dist_train.sh``
    could not run on CPU processes (gloo). Without CUDA, ``set_device`` is a
    no-op during those calls.
    """
    import torch
    import mmengine.dist.utils as dist_utils

    for name in ('_init_dist_pytorch', '_init_dist_slurm', '_init_dist_mpi'):
        original = getattr(dist_utils, name, None)
        if original is None or getattr(original, '_mmvmae_fixed', False):
            continue

        def init(*args, _original=original, **kwargs):
            if torch.cuda.is_available():
                return _original(*args, **kwargs)
            set_device = torch.cuda.set_device
            torch.cuda.set_device = lambda device: None
            try:
                return _original(*args, **kwargs)
            finally:
                torch.cuda.set_device = set_device

        init._mmvmae_fixed = True
        setattr(dist_utils, name, init)


def fix_decord_memory_reads() -> None:
    """decord 0.6.0 segfaults on some truncated files read from memory.

    mmaction2's ``DecordInit`` reads the whole file into a ``BytesIO`` and
    hands that to ``decord.VideoReader``; for a truncated AVI this crashes the
    process (a dataloader worker dies, and the run with it), while opening
    the same file by path raises a catchable error or reads the intact part.
    For local files (``io_backend='disk'``, no extra backend arguments) we
    open by path, which also avoids holding the encoded file in memory.
    """
    if importlib.util.find_spec('mmaction') is None:
        return
    loading = importlib.import_module('mmaction.datasets.transforms.loading')
    decord_init = loading.DecordInit
    if getattr(decord_init._get_video_reader, '_mmvmae_by_path', False):
        return
    from_memory = decord_init._get_video_reader

    def _get_video_reader(self, filename: str):
        if self.io_backend != 'disk' or self.kwargs or not osp.isfile(
                filename):
            return from_memory(self, filename)
        import decord
        return decord.VideoReader(filename, num_threads=self.num_threads)

    _get_video_reader._mmvmae_by_path = True
    decord_init._get_video_reader = _get_video_reader


def fix_ava_empty_proposals() -> None:
    """mmaction2 1.2.0's ``AVADataset`` / ``AVAKineticsDataset`` give a
    keyframe missing from the proposal file one full-frame box, but one
    listed with an empty ``(0, 4 or 5)`` array crashes ``get_data_info``
    (``max()`` of the empty scores). Empty entries are dropped on first use,
    so such a keyframe gets the full-frame box too.
    """
    if importlib.util.find_spec('mmaction') is None:
        return
    datasets = importlib.import_module('mmaction.datasets.ava_dataset')
    for cls in (datasets.AVADataset, datasets.AVAKineticsDataset):
        original = cls.get_data_info
        if getattr(original, '_mmvmae_fixed', False):
            continue

        def get_data_info(self, idx: int, _original=original) -> dict:
            if self.proposals is not None and \
                    not getattr(self, '_mmvmae_empty_dropped', False):
                self.proposals = {key: boxes for key, boxes in
                                  self.proposals.items() if len(boxes)}
                self._mmvmae_empty_dropped = True
            return _original(self, idx)

        get_data_info._mmvmae_fixed = True
        cls.get_data_info = get_data_info


def fix_compile_numpy_fields() -> None:
    """mmengine's ``compile=True`` breaks on numpy fields of data samples.

    mmengine 0.10.7 compiles ``train_step``; dynamo's numpy tracing turns the
    numpy masks that masking transforms put in the data samples into traced
    tensors, and ``BaseDataElement.to`` then fails with ``'ndarray' object
    has no attribute 'to'``. Turning numpy tracing off keeps them numpy.
    Importing dynamo costs about a second, so this fix is applied by
    :func:`mmvmae.engine.runner_setup.build_runner` only for configs that set
    ``compile``, not on ``import mmvmae``.
    """
    import torch._dynamo.config
    torch._dynamo.config.trace_numpy = False


def fix_compile_data_preprocessor() -> None:
    """mmaction2's CutMix breaks the graph of a compiled train step.

    mmaction2 1.2.0's ``CutmixBlending.rand_bbox`` turns the sampled mixing
    ratio into Python ints (``int(w * cut_rat)``), so dynamo breaks the graph
    of mmengine's compiled ``train_step`` inside the data preprocessor and
    logs a long warning about ``Tensor.item()`` each time it recompiles.
    Normalising and blending a batch gains nothing from compilation, so
    ``ActionDataPreprocessor.forward`` runs eagerly (one clean graph break).
    Applied with :func:`fix_compile_numpy_fields` for configs that set
    ``compile``.
    """
    import torch
    from mmaction.models import ActionDataPreprocessor
    forward = ActionDataPreprocessor.forward
    if getattr(forward, 'kept_eager', False):
        return
    eager = torch.compiler.disable(forward)
    eager.kept_eager = True
    ActionDataPreprocessor.forward = eager


def fix_config_dict_param_groups() -> None:
    """mmengine's optimizer constructor leaves ``ConfigDict`` param groups.

    mmengine 0.10.7's ``DefaultOptimWrapperConstructor`` (and so our
    layer-decay constructor) puts the parameter groups it builds with a
    ``paramwise_cfg`` into the optimizer config, a ``ConfigDict``, which
    turns every group into a ``ConfigDict``; the optimizer keeps them. A
    ``torch.compile``d train step (mmengine's ``compile=True``) traces the
    optimizer step and dynamo (torch 2.13) fails on them:
    ``InternalTorchDynamoError: AttributeError: 'UserDefinedDictVariable'
    object has no attribute 'items'``. The groups become plain dicts, as a
    resumed optimizer has them anyway (``load_state_dict`` rebuilds them).
    """
    from mmengine.optim import DefaultOptimWrapperConstructor
    build = DefaultOptimWrapperConstructor.__call__
    if getattr(build, 'plain_param_groups', False):
        return

    def __call__(self, model):
        optim_wrapper = build(self, model)
        optimizer = getattr(optim_wrapper, 'optimizer', None)
        if optimizer is not None:
            optimizer.param_groups[:] = [dict(group)
                                         for group in optimizer.param_groups]
        return optim_wrapper

    __call__.plain_param_groups = True
    DefaultOptimWrapperConstructor.__call__ = __call__


def _refuse_other_world_size(checkpoint: dict, filename: str,
                             world_size: int) -> None:
    from mmvmae.utils.config_check import ConfigError  # the tools: one line
    saved = (checkpoint.get('meta') or {}).get('world_size')
    if saved is not None and saved != world_size:
        raise ConfigError(
            f'cannot resume from {filename}: it was saved by a run on '
            f'{saved} process(es), this run has {world_size}. The '
            'restored lr schedule (lengths in iterations) and lr would '
            'not fit the new number of iterations per epoch. Resume with '
            f'{saved} process(es), or start a new schedule from its '
            f'weights with --cfg-options load_from={filename}.')


# what a parameter scheduler's state dict holds besides its settings
_SCHEDULER_RUNNING_STATE = ('last_step', '_global_step', '_last_value',
                            '_get_value_called_within_step', 'verbose')


def _schedule_settings(schedulers) -> Optional[list]:
    """``(label, settings)`` of each parameter scheduler, built ones (their
    state dict) or saved state dicts, without the running state; None when
    there are none or they are not built yet (config dicts)."""
    if not schedulers:
        return None
    named = schedulers.items() if isinstance(schedulers, dict) else \
        [('', schedulers)]
    settings = []
    for name, group in named:
        for index, scheduler in enumerate(group):
            if isinstance(scheduler, dict):
                if 'type' in scheduler:  # a config: not built yet
                    return None
                state, kind = scheduler, ''
            else:
                state = scheduler.state_dict()
                kind = f' ({type(scheduler).__name__})'
            label = f"param_scheduler{f'[{name!r}]' if name else ''}" \
                f'[{index}]{kind}'
            settings.append((label, {
                key: value for key, value in state.items()
                if key not in _SCHEDULER_RUNNING_STATE}))
    return settings


def _refuse_other_schedule(config: Optional[list], saved,
                           filename: str) -> None:
    """Refuse a resume whose checkpoint holds another parameter schedule
    than the config builds (``config``: :func:`_schedule_settings` of the
    built schedulers; ``saved``: the checkpoint's ``param_schedulers``)."""
    from mmvmae.utils.config_check import ConfigError  # the tools: one line
    saved = _schedule_settings(saved)
    if config is None or saved is None:
        return
    differences = []
    if len(config) != len(saved):
        differences.append(f'{len(saved)} schedulers saved, {len(config)} '
                           'in the config')
    for (label, mine), (_, theirs) in zip(config, saved):
        for key in sorted(set(mine) | set(theirs), key=str):
            if mine.get(key, '-') != theirs.get(key, '-'):
                differences.append(f'{label} {key}: {theirs.get(key, "-")} '
                                   f'saved, {mine.get(key, "-")} now')
    if differences:
        shown = '; '.join(differences[:4]) + \
            ('; ...' if len(differences) > 4 else '')
        raise ConfigError(
            f'cannot resume from {filename}: its parameter schedule is not '
            f"the config's ({shown}). mmengine would continue the saved "
            "schedule and ignore the config's; schedules given in epochs "
            'are counted in iterations, so another batch size or number of '
            'training videos changes them too. Resume with the settings of '
            'the run that saved it, or start a new schedule from its weights '
            f'with --cfg-options load_from={filename}.')


def _resumes_schedule(args: tuple, kwargs: dict) -> bool:
    """``resume_param_scheduler`` of a ``resume(filename, ...)`` call."""
    return bool(kwargs.get('resume_param_scheduler',
                           args[1] if len(args) > 1 else True))


def _drop_meta_config(checkpoint, filename: str) -> None:
    from mmengine.logging import print_log
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if isinstance(meta, dict) and 'config' in meta:
        del meta['config']
        print_log(f"{filename}: ignored meta['config'] (mmengine would run "
                  'it as Python on resume)', logger='current',
                  level=logging.WARNING)


def _recording_world_size(runner_save):
    """A ``save_checkpoint`` that records the world size in the meta."""
    def save_checkpoint(self, out_dir, filename, *args, meta=None, **kwargs):
        meta = dict(meta or {})
        meta.setdefault('world_size', self.world_size)
        return runner_save(self, out_dir, filename, *args, meta=meta,
                           **kwargs)
    return save_checkpoint


def fix_resume_world_size_check() -> None:
    """mmengine 0.10.7's ``Runner.resume`` means to refuse a checkpoint made
    with another number of processes, but reads ``gpu_ids`` from
    ``checkpoint['meta']['config']``, which no checkpoint holds (the config
    is saved as ``meta['cfg']``, without ``gpu_ids``): the check never runs.

    Resuming on another number of processes silently continues the lr
    schedule of the old run (its iteration-based warm-up and cosine lengths
    and its lr, restored from the checkpoint, not rescaled by
    ``auto_scale_lr``) against the new number of iterations per epoch. We
    record the world size in the checkpoint meta and refuse such a resume.
    Checkpoints without the record (older ones) are not checked.

    Likewise, mmengine restores the saved parameter schedulers over the
    ones the config builds without a word, so a resume silently ignores a
    changed ``param_scheduler`` or lr, and a changed batch size or dataset
    length (schedules in epochs are counted in iterations). A resume whose
    checkpoint holds another schedule than the config's is refused.
    """
    from mmengine.runner import Runner

    if getattr(Runner.resume, '_mmvmae_fixed', False):
        return
    runner_save = Runner.save_checkpoint
    runner_resume = Runner.resume
    runner_load = Runner.load_checkpoint

    save_checkpoint = _recording_world_size(runner_save)

    def resume(self, filename, *args, **kwargs):
        self._mmvmae_resuming = filename
        # the schedule the config builds, before the checkpoint's replaces it
        self._mmvmae_schedule = _schedule_settings(self.param_schedulers) \
            if _resumes_schedule(args, kwargs) else None
        try:
            return runner_resume(self, filename, *args, **kwargs)
        finally:
            self._mmvmae_resuming = self._mmvmae_schedule = None

    def load_checkpoint(self, filename, *args, **kwargs):
        checkpoint = runner_load(self, filename, *args, **kwargs)
        if getattr(self, '_mmvmae_resuming', None):
            _refuse_other_world_size(checkpoint, filename, self.world_size)
            _refuse_other_schedule(self._mmvmae_schedule,
                                   checkpoint.get('param_schedulers'),
                                   filename)
        return checkpoint

    save_checkpoint._mmvmae_fixed = resume._mmvmae_fixed = True
    Runner.save_checkpoint = save_checkpoint
    Runner.resume = resume
    Runner.load_checkpoint = load_checkpoint


def fix_resume_executes_checkpoint_config() -> None:
    """mmengine 0.10.7's ``Runner.resume`` reads ``meta['config']`` of the
    checkpoint with ``Config.fromstring(..., file_format='.py')``, which runs
    it as Python: a crafted checkpoint executes code on ``--resume`` even
    though the tensors load with ``weights_only=True``. mmengine's own
    checkpoints never hold that entry (they save ``meta['cfg']``), and it
    only served the process-count check that ``fix_resume_world_size_check``
    does instead, so every checkpoint the runner loads loses it (logged).
    """
    from mmengine.runner import Runner

    if getattr(Runner.load_checkpoint, '_mmvmae_drops_config', False):
        return
    runner_load = Runner.load_checkpoint

    def load_checkpoint(self, filename, *args, **kwargs):
        checkpoint = runner_load(self, filename, *args, **kwargs)
        _drop_meta_config(checkpoint, filename)
        return checkpoint

    load_checkpoint._mmvmae_drops_config = True
    Runner.load_checkpoint = load_checkpoint


def fix_flexible_runner_resume() -> None:
    """The two fixes above for mmengine 0.10.7's ``FlexibleRunner`` (FSDP,
    DeepSpeed), which is not a ``Runner``: its ``resume`` also runs
    ``meta['config']`` of the checkpoint as Python (``Config.fromstring``)
    and has the same dead process-count check. Checkpoints record the world
    size; a resume drops ``meta['config']`` and refuses another world size
    (before mmengine reads the meta) or another parameter schedule.
    """
    from mmengine.runner import FlexibleRunner

    if getattr(FlexibleRunner.resume, '_mmvmae_fixed', False):
        return
    runner_save = FlexibleRunner.save_checkpoint
    runner_resume = FlexibleRunner.resume

    save_checkpoint = _recording_world_size(runner_save)

    def resume(self, filename, *args, **kwargs):
        strategy_resume = self.strategy.resume
        schedulers = getattr(self.strategy, 'param_schedulers', None)
        # the strategy loads the saved schedule and drops it from what it
        # returns: compare the config's, kept now, with the loaded one
        schedule = _schedule_settings(schedulers) \
            if _resumes_schedule(args, kwargs) else None

        def checked_resume(*resume_args, **resume_kwargs):
            checkpoint = strategy_resume(*resume_args, **resume_kwargs)
            _drop_meta_config(checkpoint, filename)
            _refuse_other_world_size(checkpoint, filename, self.world_size)
            _refuse_other_schedule(schedule, schedulers, filename)
            return checkpoint

        self.strategy.resume = checked_resume
        try:
            return runner_resume(self, filename, *args, **kwargs)
        finally:
            del self.strategy.resume  # the class's method again

    save_checkpoint._mmvmae_fixed = resume._mmvmae_fixed = True
    FlexibleRunner.save_checkpoint = save_checkpoint
    FlexibleRunner.resume = resume


def fix_resume_sampler_seed() -> None:
    """mmengine 0.10.7 restores the checkpoint's seed on resume (for a run
    without ``randomness.seed``, a fresh random one until then), but the
    training sampler was built before, with the fresh seed: the resumed run
    shuffles (and with ``sample_seeding`` augments and masks) differently
    from the run it continues. The sampler gets the restored seed (not with
    ``diff_rank_seed``, where mmengine gives samplers none of their own).
    """
    from mmengine.runner import BaseLoop, FlexibleRunner, Runner

    for runner_type in (Runner, FlexibleRunner):
        resume = runner_type.resume
        if getattr(resume, '_mmvmae_sampler_seed', False):
            continue

        def resume_with_sampler_seed(self, *args, _resume=resume, **kwargs):
            result = _resume(self, *args, **kwargs)
            randomness = getattr(self, '_randomness_cfg', None) or getattr(
                getattr(self, 'strategy', None), '_randomness', None) or {}
            loop = self._train_loop
            sampler = getattr(getattr(loop, 'dataloader', None), 'sampler',
                              None)
            if isinstance(loop, BaseLoop) and hasattr(sampler, 'seed') and \
                    not randomness.get('diff_rank_seed'):
                sampler.seed = self.seed
            return result

        # keep the marker of the world-size fixes wrapped here
        resume_with_sampler_seed._mmvmae_fixed = getattr(
            resume, '_mmvmae_fixed', False)
        resume_with_sampler_seed._mmvmae_sampler_seed = True
        runner_type.resume = resume_with_sampler_seed


def silence_mmcv_lite_warning() -> None:
    """mmcv-lite warns on every import that ``MultiScaleDeformableAttention``
    (an mmcv.ops op) is missing; mmvmae never uses it."""
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')


def apply_upstream_fixes() -> None:
    """Apply every fix once; safe to call many times."""
    global _APPLIED
    if _APPLIED:
        return
    silence_mmcv_lite_warning()
    fix_numpy2_names()
    fix_importlib_metadata()
    fix_missing_drn()
    fix_multimodal_import()
    fix_pkg_resources()
    fix_weights_only_loading()
    fix_auto_scale_lr_accumulation()
    fix_cpu_init_dist()
    fix_decord_memory_reads()
    fix_ava_empty_proposals()
    fix_config_dict_param_groups()
    fix_resume_world_size_check()
    fix_resume_executes_checkpoint_config()
    fix_flexible_runner_resume()
    fix_resume_sampler_seed()
    _APPLIED = True
