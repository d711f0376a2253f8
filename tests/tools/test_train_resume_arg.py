"""``tools/train.py`` arguments: ``--resume PATH`` (a checkpoint file or a
work dir), ``--amp`` on a machine without a GPU."""
import argparse
import importlib.util

import pytest
from mmengine.config import Config

from .helpers import REPO_ROOT, exit_in_process, load_tool


def _train_tool():
    return load_tool('train.py')


def _args(resume):
    return argparse.Namespace(
        no_validate=False, amp=False, resume=resume, auto_scale_lr=False,
        seed=None, diff_rank_seed=False, deterministic=False)


def test_resume_takes_a_file_or_a_work_dir(tmp_path):
    tool = _train_tool()
    ckpt = tmp_path / 'epoch_3.pth'
    ckpt.write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    for given in (ckpt, tmp_path):
        cfg = tool.merge_train_args(Config(dict()), _args(str(given)))
        assert cfg.resume and cfg.load_from == str(ckpt)
    with pytest.raises(SystemExit, match='--resume: .*no file or work dir'):
        tool.merge_train_args(Config(dict()), _args(str(tmp_path / 'x.pth')))


def test_resume_takes_a_deepspeed_checkpoint_folder(tmp_path):
    """mmengine's DeepSpeedStrategy saves each checkpoint as a folder."""
    tool = _train_tool()
    ckpt = tmp_path / 'epoch_2.pth'
    ckpt.mkdir()
    (ckpt / 'mp_rank_00_model_states.pt').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    for given in (ckpt, tmp_path):
        cfg = tool.merge_train_args(Config(dict()), _args(str(given)))
        assert cfg.resume and cfg.load_from == str(ckpt)
    cfg = tool.resolve_auto_resume(Config(dict(
        resume=True, load_from=None, work_dir=str(tmp_path))))
    assert cfg.load_from == str(ckpt)


def test_amp_without_a_gpu_is_a_clear_error(monkeypatch):
    import mmengine.device
    tool = _train_tool()
    args = _args(None)
    args.amp = True
    cfg = tool.merge_train_args(Config(dict(optim_wrapper=dict(
        type='OptimWrapper'))), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cpu')
    with pytest.raises(SystemExit, match='needs a GPU'):
        tool.refuse_amp_on_cpu(cfg)
    tool.refuse_amp_on_cpu(Config(dict(optim_wrapper=dict(
        type='StepInBackwardOptimWrapper', dtype='bfloat16'))))  # ours: CPU ok
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cuda')
    tool.refuse_amp_on_cpu(cfg)


def test_amp_scales_the_loss_dynamically_unless_the_config_says():
    """--amp is fp16 with dynamic loss scaling (its help); a loss_scale the
    config states (a fixed scale) is kept."""
    tool = _train_tool()
    args = _args(None)
    args.amp = True
    cfg = tool.merge_train_args(Config(dict(optim_wrapper=dict(
        optimizer=dict(type='SGD', lr=0.1)))), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    cfg = tool.merge_train_args(Config(dict(optim_wrapper=dict(
        type='AmpOptimWrapper', loss_scale=64.0))), args)
    assert cfg.optim_wrapper.loss_scale == 64.0
    # without --amp the wrapper is the config's
    cfg = tool.merge_train_args(Config(dict(optim_wrapper=dict(
        type='OptimWrapper'))), _args(None))
    assert cfg.optim_wrapper == dict(type='OptimWrapper')


def test_copied_work_dir_resumes_from_its_own_checkpoints(tmp_path):
    """``last_checkpoint`` names the path the checkpoint was saved at; a
    copy of the work dir must use its own files, also after the original is
    gone, with ``--resume DIR`` and with ``--resume`` (auto)."""
    import shutil
    tool = _train_tool()
    original, copy = tmp_path / 'original', tmp_path / 'copy'
    original.mkdir()
    (original / 'epoch_2.pth').write_bytes(b'original')
    (original / 'last_checkpoint').write_text(str(original / 'epoch_2.pth'))
    shutil.copytree(original, copy)
    for gone in (False, True):
        if gone:
            shutil.rmtree(original)
        cfg = tool.merge_train_args(Config(dict()), _args(str(copy)))
        assert cfg.load_from == str(copy / 'epoch_2.pth')
        cfg = tool.merge_train_args(Config(dict(work_dir=str(copy))),
                                    _args('auto'))
        assert cfg.resume is True and cfg.load_from is None  # mmengine's
        tool.resolve_auto_resume(cfg)
        assert cfg.load_from == str(copy / 'epoch_2.pth')
    # a fresh work dir: auto resume starts from scratch, as in mmengine
    cfg = Config(dict(work_dir=str(tmp_path / 'new'), resume=True,
                      load_from=None))
    assert tool.resolve_auto_resume(cfg).load_from is None
    # a pointer to a file that exists nowhere is an error, not a fresh start
    (copy / 'epoch_2.pth').unlink()
    with pytest.raises(SystemExit, match='does not exist'):
        tool.resolve_auto_resume(Config(dict(work_dir=str(copy), resume=True,
                                             load_from=None)))


def test_flags_apply_after_cfg_options_with_one_line_errors(
        tmp_path, monkeypatch):
    """--cfg-options first, then the flags (mmaction2's order), whose
    checks see the merged config and stop in one line."""
    from tool_process import exit_in_process
    config = str(REPO_ROOT / 'configs/detection/videomae_vit-tiny_demo-ava.py')
    work = ['--work-dir', str(tmp_path / 'w')]
    monkeypatch.delenv('RANK', raising=False)
    for args, message in (
            (['--launcher', 'pytorch'], 'error: --launcher pytorch needs the '
             'process variables its launcher sets (RANK is not set)'),
            (['--auto-scale-lr'], 'error: --auto-scale-lr needs '
             'auto_scale_lr=dict(base_batch_size=...)'),
            (['--cfg-options', 'train_cfg.val_interval=0'],
             'error: train_cfg.val_interval must be >= 1, got 0'),
            (['--amp', '--cfg-options',
              'optim_wrapper.type=DeepSpeedOptimWrapper'],
             "error: --amp needs optim_wrapper.type OptimWrapper or "
             "AmpOptimWrapper, got 'DeepSpeedOptimWrapper'")):
        stop = exit_in_process(monkeypatch, 'train.py', config, *work, *args)
        assert str(stop).startswith(message), stop
    # an --amp check that sees the options' wrapper passes it
    stop = exit_in_process(monkeypatch, 'train.py', config, *work, '--amp',
                           '--cfg-options', 'optim_wrapper.type=OptimWrapper')
    assert 'needs a GPU' in str(stop)


def test_load_from_takes_a_work_dir(tmp_path):
    tool = _train_tool()
    (tmp_path / 'epoch_2.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    cfg = Config(dict(load_from=str(tmp_path)))
    tool.resolve_load_from(cfg)
    assert cfg.load_from == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(SystemExit, match='error: load_from: '):
        tool.resolve_load_from(Config(dict(load_from=str(tmp_path /
                                                         'empty'))))


def test_flags_override_the_config():
    """``--seed``, ``--diff-rank-seed`` and ``--auto-scale-lr`` win over the
    config's values; ``--work-dir`` over the config's ``work_dir``."""
    from mmvmae.engine.runner_setup import merge_common_args
    tool = _train_tool()
    args = _args(None)
    args.seed, args.diff_rank_seed, args.auto_scale_lr = 5, True, True
    cfg = tool.merge_train_args(Config(dict(
        randomness=dict(seed=1),
        auto_scale_lr=dict(base_batch_size=8, enable=False))), args)
    assert cfg.randomness == dict(seed=5, diff_rank_seed=True)
    assert cfg.auto_scale_lr.enable is True
    common = argparse.Namespace(work_dir='b', launcher='none',
                                config='x.py')
    assert merge_common_args(Config(dict(work_dir='a')),
                             common).work_dir == 'b'
    common.work_dir = None
    assert merge_common_args(Config(dict(work_dir='a')),
                             common).work_dir == 'a'


def _earlier_run(work_dir):
    """A work dir as a finished run leaves it: checkpoints, the pointer to
    the latest one and a log folder."""
    work_dir.mkdir()
    for epoch in (1, 2):
        (work_dir / f'epoch_{epoch}.pth').write_bytes(bytes([epoch]) * 8)
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_2.pth'))
    (work_dir / '20261203_101010').mkdir()
    return Config(dict(work_dir=str(work_dir), launcher='none'))


def test_overwrite_sets_the_earlier_run_aside(tmp_path, monkeypatch, capsys):
    """``--overwrite`` moves the earlier run's checkpoints and its
    ``last_checkpoint`` into ``earlier_run_<time>/``: the new run can
    neither mix with them nor resume them, and nothing is deleted."""
    tool = _train_tool()
    work_dir = tmp_path / 'run'
    cfg = _earlier_run(work_dir)
    tool.set_aside_earlier_run(cfg)
    aside, = work_dir.glob('earlier_run_*')
    assert sorted(p.name for p in aside.iterdir()) == [
        'epoch_1.pth', 'epoch_2.pth', 'last_checkpoint']
    assert (aside / 'epoch_2.pth').read_bytes() == b'\x02' * 8
    assert sorted(p.name for p in work_dir.iterdir()) == [
        '20261203_101010', aside.name]  # the logs stay
    assert f'moved the earlier run\'s epoch_1.pth, epoch_2.pth, ' \
        f'last_checkpoint to {aside}' in capsys.readouterr().out
    # a second start over within the same second gets a folder of its own
    (work_dir / 'epoch_1.pth').write_bytes(b'new')
    monkeypatch.setattr(tool.time, 'strftime', lambda _: aside.name)
    tool.set_aside_earlier_run(cfg)
    assert (work_dir / f'{aside.name}_1' / 'epoch_1.pth').read_bytes() == \
        b'new'
    assert (aside / 'epoch_1.pth').read_bytes() == b'\x01' * 8


def test_overwrite_moves_nothing_on_other_ranks_or_when_continuing(
        tmp_path, monkeypatch):
    """Only rank 0 moves the files (every process runs the tool), and a
    resume from a checkpoint of the work dir continues its run."""
    tool = _train_tool()
    work_dir = tmp_path / 'run'
    cfg = _earlier_run(work_dir)
    before = sorted(p.name for p in work_dir.iterdir())
    monkeypatch.setenv('RANK', '1')
    tool.set_aside_earlier_run(Config(dict(cfg, launcher='pytorch')))
    monkeypatch.setenv('RANK', '0')
    tool.set_aside_earlier_run(Config(dict(
        cfg, resume=True, load_from=str(work_dir / 'epoch_1.pth'))))
    assert sorted(p.name for p in work_dir.iterdir()) == before
    tool.set_aside_earlier_run(Config(dict(cfg, launcher='pytorch')))
    assert not (work_dir / 'epoch_1.pth').exists()


def _stop_at_build(monkeypatch) -> None:
    """``tools/train.py`` exits with 'runner built' where it builds the
    runner (all its checks passed)."""
    from mmvmae.engine import runner_setup

    class StopAtBuild:
        @classmethod
        def from_cfg(cls, cfg):
            raise SystemExit('runner built')

    monkeypatch.setattr(runner_setup, 'Runner', StopAtBuild)


def test_overwrite_through_the_tool_waits_for_the_checks(
        tmp_path, monkeypatch):
    """``train.py --overwrite`` sets the earlier run aside once its checks
    passed, before the runner is built; a command the checks refuse (here:
    --amp without a GPU) leaves the earlier run as it was."""
    _stop_at_build(monkeypatch)
    work_dir = tmp_path / 'run'
    _earlier_run(work_dir)
    before = sorted(p.name for p in work_dir.iterdir())
    config = str(REPO_ROOT / 'configs/pretrain/'
                 'videomae_vit-tiny_demo-pretrain.py')
    args = ('train.py', config, '--work-dir', str(work_dir), '--overwrite')
    assert 'needs a GPU' in str(exit_in_process(monkeypatch, *args, '--amp'))
    assert sorted(p.name for p in work_dir.iterdir()) == before
    assert str(exit_in_process(monkeypatch, *args)) == 'runner built'
    aside, = work_dir.glob('earlier_run_*')
    assert (aside / 'epoch_2.pth').is_file()
    assert not (work_dir / 'last_checkpoint').exists()


def test_resume_without_last_checkpoint_names_the_checkpoints(tmp_path):
    """``--resume`` in a work dir with checkpoints but no
    ``last_checkpoint`` says so and names the latest one to resume."""
    import os
    tool = _train_tool()
    work_dir = tmp_path / 'run'
    cfg = _earlier_run(work_dir)
    (work_dir / 'last_checkpoint').unlink()
    os.utime(work_dir / 'epoch_1.pth', (1, 1))  # epoch_2.pth is the latest
    with pytest.raises(SystemExit) as stop:
        tool.refuse_to_overwrite(Config(dict(cfg, resume=True,
                                             load_from=None)))
    assert str(stop.value) == (
        f'error: --resume: work dir {work_dir} has no last_checkpoint to '
        'continue from, but holds checkpoints (epoch_1.pth, epoch_2.pth); '
        f'name the one to resume: --resume {work_dir / "epoch_2.pth"}, or '
        'start over there with --overwrite')


def test_load_from_a_work_dir_with_resume(tmp_path):
    """``--cfg-options resume=True load_from=WORK_DIR`` resumes from the
    work dir's latest checkpoint, as ``--resume WORK_DIR`` does."""
    tool = _train_tool()
    cfg = _earlier_run(tmp_path / 'run')
    cfg = Config(dict(cfg, resume=True, load_from=str(tmp_path / 'run')))
    tool.resolve_load_from(cfg)
    assert cfg.load_from == str(tmp_path / 'run' / 'epoch_2.pth')


def test_resume_does_not_need_the_pretrained_file(tmp_path, monkeypatch):
    """``--resume`` replaces the pretrained weights: a fine-tuning config
    whose VideoMAEPretrained file is gone resumes; a new run is refused."""
    import torch

    _stop_at_build(monkeypatch)
    checkpoint = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict={}, meta=dict(epoch=1, iter=8)), checkpoint)
    config = str(REPO_ROOT / 'configs/finetune/'
                 'videomae_vit-tiny_demo-finetune.py')
    args = ('train.py', config, '--work-dir', str(tmp_path / 'w'),
            '--cfg-options', 'model.backbone.init_cfg.checkpoint='
            f'{tmp_path / "gone.pth"}')
    assert 'model.backbone.init_cfg.checkpoint' in str(
        exit_in_process(monkeypatch, *args))
    assert str(exit_in_process(monkeypatch, *args, '--resume',
                               str(checkpoint))) == 'runner built'


@pytest.mark.parametrize('strategy', ['FSDPStrategy', 'DeepSpeedStrategy'])
def test_sharding_strategies_without_a_gpu_are_a_clear_error(
        strategy, monkeypatch, tmp_path):
    """The FSDP / DeepSpeed configs on a machine without a GPU: one line,
    not mmengine's traceback from deep in the strategy."""
    import mmengine.device
    tool = _train_tool()
    cfg = Config(dict(strategy=dict(type=strategy)))
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cpu')
    with pytest.raises(SystemExit, match=f'strategy {strategy} .*needs '
                       'GPUs'):
        tool.refuse_sharding_on_cpu(cfg)
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cuda')
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None)
    if strategy == 'DeepSpeedStrategy':
        with pytest.raises(SystemExit, match='pip install deepspeed'):
            tool.refuse_sharding_on_cpu(cfg)
    else:
        tool.refuse_sharding_on_cpu(cfg)  # a GPU: FSDP may run
    tool.refuse_sharding_on_cpu(Config(dict()))  # no strategy
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cpu')
    config = str(REPO_ROOT / 'configs/pretrain/'
                 'videomae_vit-tiny_demo-pretrain.py')
    assert 'needs GPUs' in str(exit_in_process(  # the tool checks it
        monkeypatch, 'train.py', config, '--work-dir', str(tmp_path),
        '--cfg-options', f'strategy.type={strategy}',
        'runner_type=FlexibleRunner'))
