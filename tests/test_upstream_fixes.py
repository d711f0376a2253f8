"""Each stack fix in mmvmae/utils/upstream_fixes.py, shown to be needed.

Every test exercises the upstream code path that breaks without its fix.
Import-order-sensitive checks run in a fresh interpreter.
"""
import importlib.util
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmvmae.utils import upstream_fixes
from mmvmae.utils.config_check import ConfigError


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300)


def test_mmaction_models_import_after_mmvmae():
    # Fails without fix_missing_drn (mmaction2 issue 2714), without
    # fix_importlib_metadata (undeclared backport) and, with transformers
    # installed, without fix_multimodal_import (VindLU needs timm).
    result = run_python('import mmvmae, mmaction.models; '
                        'from mmaction.registry import MODELS; '
                        'print(MODELS.get("Recognizer3D").__name__)')
    assert result.returncode == 0, result.stderr
    assert 'Recognizer3D' in result.stdout


def test_drn_placeholder_says_why():
    import mmaction.models.localizers as localizers
    with pytest.raises(ImportError, match='2714'):
        localizers.DRN()


@pytest.mark.skipif(importlib.util.find_spec('importlib_metadata') is not None,
                    reason='the importlib_metadata backport is installed')
def test_importlib_metadata_alias():
    result = run_python('import mmvmae, mmaction.utils.dependency as d; '
                        'print(d.satisfy_requirement("numpy"))')
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(importlib.util.find_spec('transformers') is None,
                    reason='transformers is not installed')
def test_multimodal_placeholders_with_transformers_installed():
    from mmaction.registry import MODELS
    vindlu = MODELS.get('VindLUVQA')
    assert vindlu is not None
    with pytest.raises(ImportError):
        vindlu()


def test_mmengine_package_lookups_without_pkg_resources(tmp_path):
    from mmengine.config import Config
    from mmengine.utils import get_installed_path, is_installed

    assert is_installed('mmaction2')
    assert not is_installed('surely-not-a-package-mmvmae')
    path = get_installed_path('mmaction2')
    assert path.endswith('mmaction')
    # ``mmaction::`` base-config paths go through the same look-ups
    config = tmp_path / 'child.py'
    config.write_text("_base_ = ['mmaction::_base_/default_runtime.py']\n")
    cfg = Config.fromfile(str(config))
    assert cfg.default_scope == 'mmaction'


def test_numpy2_names_used_by_mmaction():
    from mmaction.evaluation.functional.ava_evaluation import metrics

    # a class without ground truth: mmaction returns np.NAN
    assert np.isnan(metrics.compute_average_precision(None, None))
    assert np.Inf == np.inf
    assert np.in1d(np.array([1, 2]), np.array([2])).tolist() == [False, True]
    assert np.trapz(np.array([1.0, 1.0]), np.array([0.0, 2.0])) == 2.0


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out.squeeze(1) - labels)**2).mean())
        return out


class _ToyDataset(torch.utils.data.Dataset):
    metainfo = None

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        x = torch.full((2, ), float(idx))
        return dict(inputs=x, labels=x.sum())


def _toy_runner(work_dir, max_epochs, runner_type=None, **kwargs):
    runner_type = runner_type or Runner
    return runner_type(
        model=_ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_ToyDataset(), sampler=dict(type='DefaultSampler',
                                                shuffle=True),
            batch_size=4, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1)),
        default_scope='mmengine',
        **dict(dict(randomness=dict(seed=3)), **kwargs))


def test_resume_and_load_from_stay_weights_only(tmp_path):
    # torch >= 2.6 loads with weights_only=True; a full mmengine checkpoint
    # (HistoryBuffer, numpy arrays and scalars) needs the allowlist.
    _toy_runner(tmp_path, 2).train()
    ckpt = tmp_path / 'epoch_2.pth'
    assert ckpt.is_file()
    allowlist = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        # without the allowlist, torch's weights-only loader rejects it
        with pytest.raises(pickle.UnpicklingError):
            torch.load(ckpt, weights_only=True)
    finally:
        torch.serialization.add_safe_globals(allowlist)
    torch.load(ckpt)  # default weights_only=True, with the allowlist
    resumed = _toy_runner(tmp_path, 3, resume=True)
    resumed.train()
    assert resumed.epoch == 3
    assert (tmp_path / 'epoch_3.pth').is_file()
    loaded = _toy_runner(tmp_path / 'load', 1, load_from=str(ckpt))
    loaded.train()


def test_checkpoint_running_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ('this ran from a checkpoint',))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': Evil()}, path)
    with pytest.raises(pickle.UnpicklingError, match='weights_only'):
        torch.load(path)


def test_restricted_getattr_refuses_other_lookups(tmp_path):
    # the allowlist answers getattr only for HistoryBuffer statistics
    from mmengine.logging import HistoryBuffer

    class Sneaky:
        def __reduce__(self):
            # a first step towards __init__.__globals__ and from there os
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'sneaky.pth'
    torch.save({'payload': Sneaky()}, path)
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        torch.load(path)


def _patched_functions() -> dict:
    """Every function the fixes replace, as it is now."""
    import mmengine.dist.utils as dist_utils
    from mmaction.datasets.transforms.loading import DecordInit
    from mmengine._strategy.base import BaseStrategy
    from mmengine._strategy.deepspeed import DeepSpeedStrategy
    from mmengine.optim import DefaultOptimWrapperConstructor
    from mmengine.runner import Runner
    owners = {Runner: ('scale_lr', 'save_checkpoint', 'resume',
                       'load_checkpoint'),
              BaseStrategy: ('_scale_lr', ),
              DeepSpeedStrategy: ('build_optim_wrapper', ),
              DecordInit: ('_get_video_reader', ),
              DefaultOptimWrapperConstructor: ('__call__', ),
              dist_utils: ('_init_dist_pytorch', '_init_dist_slurm',
                           '_init_dist_mpi')}
    return {(owner, name): getattr(owner, name)
            for owner, names in owners.items() for name in names}


def test_fixes_are_idempotent():
    """Applying the fixes again (a second ``apply_upstream_fixes`` after
    the once-only flag is reset, as in a re-imported module) wraps nothing
    twice: each fix checks its own mark."""
    before = _patched_functions()
    marks = ('_mmvmae_fixed', '_mmvmae_by_path', '_mmvmae_drops_config',
             'plain_param_groups')
    # the fixes did replace them (so the check below compares the fixes'
    # own functions, not untouched upstream ones)
    assert sum(any(getattr(f, m, False) for m in marks)
               for f in before.values()) >= 8
    upstream_fixes._APPLIED = False
    upstream_fixes.apply_upstream_fixes()
    assert upstream_fixes._APPLIED
    after = _patched_functions()
    changed = [key[1] for key in before if after[key] is not before[key]]
    assert not changed


class _RepeatedToyDataset(_ToyDataset):
    num_repeats = 3  # as RepeatedSamplingDataset: 3 clips per item


@pytest.mark.parametrize('dataset, repeats', [(_ToyDataset(), 1),
                                              (_RepeatedToyDataset(), 3)])
def test_auto_scale_lr_counts_accumulation_and_repeats(tmp_path, dataset,
                                                       repeats):
    # mmengine scales by world_size x batch_size only; the fix
    # (fix_auto_scale_lr_accumulation) also counts accumulative_counts and
    # the dataset's num_repeats: batch 4 x 2 accumulations x repeats clips
    # per step against a base of 16 clips.
    runner = Runner(
        model=_ToyModel(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=dataset, batch_size=4,
                              sampler=dict(type='DefaultSampler'),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1),
                           accumulative_counts=2),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        auto_scale_lr=dict(enable=True, base_batch_size=16),
        default_scope='mmengine')
    runner._train_dataloader = runner.build_dataloader(
        runner._train_dataloader)
    wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(wrapper, runner.auto_scale_lr)
    lr = wrapper.optimizer.param_groups[0]['lr']
    assert lr == pytest.approx(0.1 * 1 * 4 * 2 * repeats / 16)


@pytest.mark.parametrize('stated, repeats', [({}, 3),
                                             ({'num_repeats': 1}, 1)])
def test_auto_scale_lr_counts_repeats_in_runner_train(tmp_path, stated,
                                                      repeats):
    # Runner.train builds the loop's dataloader but keeps the dict in
    # runner._train_dataloader when it calls scale_lr: num_repeats must come
    # from the loop's dataset (it was read as 1, so the lr of pretraining
    # with repeated sampling came out 4x too small), unless auto_scale_lr
    # states it (fine-tuning: lr per video)
    runner = Runner(
        model=_ToyModel(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=_RepeatedToyDataset(), batch_size=4,
                              sampler=dict(type='DefaultSampler'),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        auto_scale_lr=dict(enable=True, base_batch_size=12, **stated),
        default_hooks=dict(checkpoint=None),
        default_scope='mmengine')
    runner.train()
    lr = runner.optim_wrapper.optimizer.param_groups[0]['lr']
    assert lr == pytest.approx(0.1 * 4 * repeats / 12)


def test_auto_scale_lr_scales_the_logged_base_lr(tmp_path):
    # with several param groups the log's base_lr is the wrapper's
    # base_param_settings, which mmengine's scale_lr leaves unscaled
    runner = Runner(
        model=_ToyModel(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=_RepeatedToyDataset(), batch_size=4,
                              sampler=dict(type='DefaultSampler'),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1),
                           paramwise_cfg=dict(bias_lr_mult=2.0)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        auto_scale_lr=dict(enable=True, base_batch_size=6),
        default_hooks=dict(checkpoint=None),
        default_scope='mmengine')
    runner.train()
    factor = 4 * 3 / 6
    assert runner.optim_wrapper.get_lr()['base_lr'] == [
        pytest.approx(0.1 * factor)]
    assert sorted(runner.optim_wrapper.get_lr()['lr']) == [
        pytest.approx(0.1 * factor), pytest.approx(0.2 * factor)]


def test_auto_scale_lr_counts_deepspeed_accumulation(monkeypatch):
    """A DeepSpeed strategy accumulates by its config's
    gradient_accumulation_steps: scaled, and logged, in the effective
    batch (a strategy object with the attributes ``_scale_lr`` reads)."""
    from types import SimpleNamespace

    from mmengine._strategy.base import BaseStrategy
    from mmengine.logging import MMLogger
    from mmengine.optim import OptimWrapper
    logger, logged = MMLogger.get_current_instance(), []
    monkeypatch.setattr(logger, 'log',
                        lambda level, msg, *a, **k: logged.append(msg))
    model = _ToyModel()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    strategy = SimpleNamespace(
        _auto_scale_lr=dict(enable=True, base_batch_size=64), world_size=2,
        dispatch_kwargs=dict(train_micro_batch_size_per_gpu=4),
        config=dict(gradient_accumulation_steps=4), optim_wrapper=wrapper,
        param_schedulers=None, logger=logger)
    BaseStrategy._scale_lr(strategy)
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(
        0.1 * 2 * 4 * 4 / 64)
    assert any(msg.startswith(
        'auto_scale_lr: effective batch 32 clips = 2 processes x batch 4 x '
        'accumulative_counts 4 x num_repeats 1; lr scaled by 0.5 in all')
        for msg in logged)


def _runner_types():
    from mmengine.runner import FlexibleRunner  # FSDP / DeepSpeed configs
    return [Runner, FlexibleRunner]


@pytest.mark.parametrize('runner_type', _runner_types())
def test_resume_refuses_another_world_size(tmp_path, runner_type,
                                           monkeypatch):
    # mmengine's own check reads meta['config']['gpu_ids'], which no
    # checkpoint holds, so it never fired (fix_resume_world_size_check,
    # fix_flexible_runner_resume)
    _toy_runner(tmp_path, max_epochs=1, runner_type=runner_type).train()
    meta = torch.load(tmp_path / 'epoch_1.pth')['meta']
    assert meta['world_size'] == 1
    runner = _toy_runner(tmp_path, max_epochs=2, runner_type=runner_type,
                         resume=True)
    # as if launched on 2 processes
    monkeypatch.setattr(runner_type, 'world_size', property(lambda _: 2))
    with pytest.raises(ConfigError, match='saved by a run on 1 process'):
        runner.train()


@pytest.mark.parametrize('runner_type', _runner_types())
def test_resume_does_not_run_a_checkpoint_config(tmp_path, runner_type):
    # mmengine's Runner.resume (and FlexibleRunner's) runs meta['config']
    # through Config.fromstring(.py), i.e. executes it
    # (fix_resume_executes_checkpoint_config, fix_flexible_runner_resume)
    _toy_runner(tmp_path, max_epochs=1, runner_type=runner_type).train()
    path = tmp_path / 'epoch_1.pth'
    checkpoint = torch.load(path)
    marker = tmp_path / 'executed'
    checkpoint['meta']['config'] = (
        f"open({str(marker)!r}, 'w').close()\ngpu_ids = [0, 1]\n")
    torch.save(checkpoint, path)
    runner = _toy_runner(tmp_path, max_epochs=2, runner_type=runner_type,
                         resume=True)
    runner.train()
    assert not marker.exists()
    assert runner.train_loop.epoch == 2


@pytest.mark.parametrize('runner_type', _runner_types())
def test_resume_gives_the_sampler_the_restored_seed(tmp_path, runner_type):
    # without randomness.seed the run draws one and stores it; mmengine
    # restores it on resume but built the sampler with a fresh one
    # (fix_resume_sampler_seed)
    unseeded = dict(randomness=dict(seed=None), runner_type=runner_type)
    _toy_runner(tmp_path, max_epochs=1, **unseeded).train()
    seed = torch.load(tmp_path / 'epoch_1.pth')['meta']['seed']
    runner = _toy_runner(tmp_path, max_epochs=2, resume=True, **unseeded)
    runner.train()
    assert runner.seed == seed
    assert runner.train_loop.dataloader.sampler.seed == seed


@pytest.mark.parametrize('runner_type', _runner_types())
def test_resume_with_diff_rank_seed_keeps_the_shared_sampler_seed(
        tmp_path, runner_type):
    """With ``diff_rank_seed`` each rank's own seed is ``seed + rank`` and
    mmengine builds the samplers with one seed shared by all ranks (they
    must shuffle alike to split the data between them): a resume must not
    give the sampler the rank's seed (fix_resume_sampler_seed)."""
    ranked = dict(randomness=dict(seed=3, diff_rank_seed=True),
                  runner_type=runner_type)
    _toy_runner(tmp_path, max_epochs=1, **ranked).train()
    runner = _toy_runner(tmp_path, max_epochs=2, resume=True, **ranked)
    shared = runner.train_loop.dataloader.sampler.seed  # before the resume
    assert shared != runner.seed  # else a wrong seed could go unnoticed
    runner.train()
    assert runner.train_loop.epoch == 2
    assert runner.train_loop.dataloader.sampler.seed == shared


@pytest.mark.parametrize('runner_type', _runner_types())
def test_resume_on_the_same_world_size_or_without_a_record_continues(
        tmp_path, runner_type, monkeypatch):
    """The world-size check refuses only another recorded world size: a run
    on 2 processes records 2 and resumes on 2; a checkpoint without the
    record (saved before the fix) resumes on any number of processes."""
    # as if launched on 2 processes (saving and resuming)
    monkeypatch.setattr(runner_type, 'world_size', property(lambda _: 2))
    _toy_runner(tmp_path, max_epochs=1, runner_type=runner_type).train()
    path = tmp_path / 'epoch_1.pth'
    checkpoint = torch.load(path)
    assert checkpoint['meta']['world_size'] == 2
    runner = _toy_runner(tmp_path, max_epochs=2, runner_type=runner_type,
                         resume=True)
    runner.train()
    assert runner.train_loop.epoch == 2
    del checkpoint['meta']['world_size']
    torch.save(checkpoint, path)
    monkeypatch.setattr(runner_type, 'world_size', property(lambda _: 3))
    runner = _toy_runner(tmp_path / 'old', max_epochs=2,
                         runner_type=runner_type, resume=True,
                         load_from=str(path))
    runner.train()
    assert runner.train_loop.epoch == 2


def _scheduled(**changes) -> dict:
    """A warm-up and cosine schedule in epochs (2 iterations each)."""
    cosine = dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-4,
                  by_epoch=True, begin=1, end=3, convert_to_iter_based=True)
    return dict(param_scheduler=[
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
             end=1, convert_to_iter_based=True), {**cosine, **changes}])


@pytest.mark.parametrize('runner_type', _runner_types())
def test_resume_refuses_another_parameter_schedule(tmp_path, runner_type):
    """mmengine restores the saved schedulers over the config's: a resume
    with another schedule, lr or batch size (a schedule in epochs counts
    iterations) would silently keep the old run's schedule."""
    _toy_runner(tmp_path, max_epochs=1, runner_type=runner_type,
                **_scheduled()).train()
    resumed = dict(max_epochs=2, runner_type=runner_type, resume=True)
    longer = _toy_runner(tmp_path / 'longer', load_from=str(
        tmp_path / 'epoch_1.pth'), **resumed, **_scheduled(T_max=3, end=4))
    with pytest.raises(ConfigError) as error:
        longer.train()
    message = str(error.value)
    assert 'cannot resume from' in message and 'epoch_1.pth' in message
    # 2 iterations per epoch: the saved lengths, then the config's
    assert 'param_scheduler[1] (CosineAnnealingLR) T_max: 4 saved, 6 now' \
        in message
    assert 'param_scheduler[1] (CosineAnnealingLR) end: 6 saved, 8 now' \
        in message
    assert 'load_from=' in message
    # the runner is built, its optimizer and loader not yet: change them
    lr = _toy_runner(tmp_path / 'lr', load_from=str(tmp_path / 'epoch_1.pth'),
                     **resumed, **_scheduled())
    lr.optim_wrapper['optimizer']['lr'] = 0.02
    with pytest.raises(ConfigError, match=r'base_values: \[0.01\] saved, '
                       r'\[0.02\] now'):
        lr.train()
    batch = _toy_runner(tmp_path / 'batch', load_from=str(
        tmp_path / 'epoch_1.pth'), **resumed, **_scheduled())
    batch._train_dataloader['batch_size'] = 2
    with pytest.raises(ConfigError, match=r'\(LinearLR\) end: 2 saved, 4 '
                       'now'):
        batch.train()
    same = _toy_runner(tmp_path, **resumed, **_scheduled())
    same.train()  # the same schedule continues
    assert same.train_loop.epoch == 2


def test_init_dist_without_cuda(monkeypatch):
    # mmengine's init_dist calls torch.cuda.set_device even for gloo, which
    # fails on CPU-only torch builds (fixed by fix_cpu_init_dist)
    import socket

    import torch.distributed as torch_dist
    from mmengine.dist import get_world_size, init_dist
    if torch.cuda.is_available():
        pytest.skip('the failure needs a machine without CUDA')
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    for key, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                           MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(port)).items():
        monkeypatch.setenv(key, value)
    init_dist('pytorch', backend='gloo')
    try:
        assert get_world_size() == 1
    finally:
        torch_dist.destroy_process_group()


def test_truncated_avi_does_not_crash_decord_init(tmp_path, shared_data):
    # Without fix_decord_memory_reads, DecordInit hands decord a BytesIO of
    # the truncated file and the process dies with SIGSEGV.
    source = shared_data / 'videos' / 'test.avi'
    truncated = tmp_path / 'truncated.avi'
    truncated.write_bytes(source.read_bytes()[:source.stat().st_size // 3])
    result = run_python(
        'import mmvmae\n'
        'from mmaction.datasets.transforms import DecordInit\n'
        f'out = DecordInit()(dict(filename={str(truncated)!r}))\n'
        "print('frames', out['total_frames'])\n")
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert 'frames' in result.stdout


def test_mmcv_lite_import_warning_is_silenced():
    result = run_python('import warnings; warnings.simplefilter("default")\n'
                        'import mmvmae, mmcv.cnn.bricks.transformer')
    assert 'MultiScaleDeformableAttention' not in result.stderr
