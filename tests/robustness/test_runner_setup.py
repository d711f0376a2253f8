"""What ``mmvmae.engine.runner_setup`` does to a config before the runner is
built (``prepare_train_cfg``, ``build_runner_for``), and what
``tools/test.py`` hands it."""
import copy
import runpy
import sys

import pytest
import torch
from mmengine.config import Config
from tool_process import exit_in_process

from mmvmae.engine import runner_setup
from mmvmae.engine.runner_setup import (build_runner_for, prepare_train_cfg,
                                        refuse_weights_only_resume)
from mmvmae.utils.config_check import CheckpointError
from .tests_paths import REPO_ROOT

FINETUNE = str(REPO_ROOT / 'configs' / 'finetune' /
               'videomae_vit-tiny_demo-finetune.py')
TEST_TOOL = str(REPO_ROOT / 'tools' / 'test.py')


def _amp_cfg(strategy=None, **wrapper):
    return Config(dict(strategy=strategy, optim_wrapper=dict(
        type='AmpOptimWrapper', optimizer=dict(type='AdamW', lr=1e-3),
        **wrapper)))


def test_fsdp_amp_wrapper_keeps_the_sharded_grad_scaler():
    """mmengine's FSDPStrategy gives an ``AmpOptimWrapper`` ``use_fsdp=True``
    (a ShardedGradScaler for the sharded gradients), recognising it by type
    name only; the finite-loss AMP wrapper put in its place must get it
    too. A ``use_fsdp`` the config states is kept; without FSDP there is
    none."""
    fsdp = dict(type='FSDPStrategy')
    wrapper = prepare_train_cfg(_amp_cfg(fsdp)).optim_wrapper
    assert wrapper.type == 'FiniteLossAmpOptimWrapper'
    assert wrapper.use_fsdp is True
    stated = prepare_train_cfg(_amp_cfg(fsdp, use_fsdp=False)).optim_wrapper
    assert stated.use_fsdp is False
    for strategy in (None, dict(type='DDPStrategy')):
        wrapper = prepare_train_cfg(_amp_cfg(strategy)).optim_wrapper
        assert wrapper.type == 'FiniteLossAmpOptimWrapper'
        assert 'use_fsdp' not in wrapper


def _train_loader():
    return dict(batch_size=2, sampler=dict(type='DefaultSampler',
                                           shuffle=True),
                dataset=dict(type='VideoListDataset', ann_file='train.txt',
                             pipeline=[]))


def test_sample_seeding_only_when_the_config_asks():
    """``sample_seeding`` is off unless the config sets it (the base
    runtime config does): a config without the key keeps mmengine's
    sampler and dataset."""
    loader = _train_loader()
    for cfg in (Config(dict(train_dataloader=copy.deepcopy(loader))),
                Config(dict(sample_seeding=False,
                            train_dataloader=copy.deepcopy(loader)))):
        assert prepare_train_cfg(cfg).train_dataloader == loader
    cfg = prepare_train_cfg(Config(dict(sample_seeding=True,
                                        train_dataloader=loader)))
    assert cfg.train_dataloader.sampler.type == 'SampleSeededSampler'
    assert cfg.train_dataloader.dataset.type == 'SampleSeededDataset'
    assert cfg.train_dataloader.dataset.dataset == loader['dataset']


@pytest.mark.parametrize('meta', [None, {}, dict(epoch=2), dict(iter=16)],
                         ids=['no meta', 'empty', 'epoch only', 'iter only'])
def test_resume_needs_the_epoch_and_the_iteration(tmp_path, monkeypatch,
                                                  meta):
    """mmengine's resume reads ``meta['epoch']`` and ``meta['iter']``: a
    checkpoint without either is refused in one line, before anything is
    built (mmengine would fail with a KeyError); one with both passes."""
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict={}, **({} if meta is None else
                                      dict(meta=meta))), path)

    def build_runner(cfg, training=True):
        raise AssertionError('the runner was built')

    monkeypatch.setattr(runner_setup, 'build_runner', build_runner)
    with pytest.raises(SystemExit) as stop:
        build_runner_for(Config(dict(resume=True)), str(path), '--resume: ')
    assert str(stop.value) == (
        f'error: --resume: {path} holds weights, not the state of a '
        'training run (epoch, iteration) to resume; start a new run from '
        f'its weights with --cfg-options load_from={path}')
    refuse_weights_only_resume(dict(meta=dict(epoch=2, iter=16)), 'x.pth')
    with pytest.raises(CheckpointError):
        refuse_weights_only_resume(dict(meta=meta), 'x.pth')


class _RunnerBuilt(SystemExit):
    """Stops ``tools/test.py`` where ``build_runner`` builds the runner,
    with the config it was given (all checks before passed)."""


def _test_tool_config(monkeypatch, tmp_path, config, *args) -> Config:
    """The config ``tools/test.py config <weights-only checkpoint> args``
    builds its runner from (run in this process, up to the runner)."""
    class StopAtBuild:
        @classmethod
        def from_cfg(cls, cfg):
            raise _RunnerBuilt(cfg)

    monkeypatch.setattr(runner_setup, 'Runner', StopAtBuild)
    checkpoint = tmp_path / 'weights.pth'
    torch.save(dict(state_dict={}), checkpoint)
    stop = exit_in_process(
        monkeypatch, 'test.py', config, str(checkpoint), '--work-dir',
        str(tmp_path / 'w'), *args, '--cfg-options',
        f'test_dataloader.dataset.data_root={REPO_ROOT / "data" / "demo"}')
    assert isinstance(stop, _RunnerBuilt), stop
    return stop.code


def _write_config(tmp_path, text: str) -> str:
    path = tmp_path / 'config.py'
    path.write_text(f'_base_ = [{FINETUNE!r}]\n' + text)
    return str(path)


def test_test_tool_dump_adds_to_a_list_of_metrics(tmp_path, monkeypatch):
    """``--dump`` adds mmengine's DumpResults to the test metrics: after the
    config's one metric, or after each of a list of them (a flat list, the
    config's metrics unchanged and first)."""
    dump = str(tmp_path / 'out.pkl')
    dumping = dict(type='DumpResults', out_file_path=dump)
    metrics = [dict(type='AccMetric', metric_list=('top_k_accuracy', )),
               dict(type='AccMetric', metric_list=('mean_class_accuracy', ),
                    prefix='mean')]
    config = _write_config(tmp_path, f'test_evaluator = {metrics!r}\n')
    cfg = _test_tool_config(monkeypatch, tmp_path, config, '--dump', dump)
    assert cfg.test_evaluator == [*metrics, dumping]
    one = Config.fromfile(FINETUNE).test_evaluator
    cfg = _test_tool_config(monkeypatch, tmp_path, FINETUNE, '--dump', dump)
    assert cfg.test_evaluator == [one, dumping]


def test_test_tool_skips_training_only_checks(tmp_path, monkeypatch):
    """A config whose Mixup/CutMix classes differ from the head's cannot
    train, but testing does not blend: its checkpoint is tested."""
    config = _write_config(
        tmp_path, 'model = dict(data_preprocessor=dict(blending=dict('
        'augments=[dict(type="MixupBlending", alpha=0.8, num_classes=7)], '
        '_delete_=True)))\n')
    cfg = Config.fromfile(config)
    with pytest.raises(ValueError, match='num_classes=7'):
        prepare_train_cfg(cfg)  # training refuses it
    cfg = _test_tool_config(monkeypatch, tmp_path, config)
    assert cfg.model.data_preprocessor.blending.augments[0].num_classes == 7


def test_test_tool_loads_the_weights_of_a_config_that_resumes(
        tmp_path, monkeypatch):
    """Testing loads the checkpoint's weights: a config with
    ``resume = True`` (to continue its training) must not make mmengine's
    ``Runner.test`` resume a training run from a weights-only checkpoint
    (``KeyError: 'meta'``), nor be refused for resuming from weights."""
    config = _write_config(tmp_path, 'resume = True\n')
    cfg = _test_tool_config(monkeypatch, tmp_path, config)
    assert cfg.load_from == str(tmp_path / 'weights.pth')
    assert not cfg.resume


def test_test_tool_flags_and_the_checkpoint_win_over_cfg_options(
        tmp_path, monkeypatch):
    """``--cfg-options`` apply first, then the flags (as in
    ``tools/train.py``): the positional checkpoint is the one tested (and
    checked to fit), not a ``load_from=`` option, and ``--work-dir`` wins
    over ``work_dir=``; other options still reach the config."""
    other = tmp_path / 'other.pth'
    cfg = _test_tool_config(
        monkeypatch, tmp_path, FINETUNE, '--cfg-options',
        f'load_from={other}', f'work_dir={tmp_path / "b"}', 'resume=True',
        'test_dataloader.batch_size=3')
    assert cfg.load_from == str(tmp_path / 'weights.pth')
    assert cfg.work_dir == str(tmp_path / 'w')
    assert not cfg.resume
    assert cfg.test_dataloader.batch_size == 3


class _Tested(SystemExit):
    """Stops ``tools/test.py`` where it starts the test, with the runner."""


class _StandInRunner:
    """Built by ``tools/test.py`` in place of mmengine's runner: no model to
    check the checkpoint against; its logger keeps the messages."""

    def __init__(self, cfg):
        self.cfg, self.model, self.messages = cfg, None, []
        self.logger = self

    @classmethod
    def from_cfg(cls, cfg):
        return cls(cfg)

    def info(self, message):
        self.messages.append(message)

    warning = info

    def log(self, level, message):
        self.messages.append(message)

    def test(self):
        raise _Tested(self)


def _test_tool_run(monkeypatch, tmp_path, *args) -> SystemExit:
    monkeypatch.setattr(runner_setup, 'Runner', _StandInRunner)
    checkpoint = tmp_path / 'weights.pth'
    torch.save(dict(state_dict={}), checkpoint)
    return exit_in_process(
        monkeypatch, 'test.py', FINETUNE, str(checkpoint), '--work-dir',
        str(tmp_path / 'w'), *args, '--cfg-options',
        f'test_dataloader.dataset.data_root={REPO_ROOT / "data" / "demo"}')


def test_test_tool_refuses_a_dump_path_it_cannot_write(tmp_path, monkeypatch):
    """A ``--dump`` path that is a folder, or below a file, is a one-line
    error before the runner is built (mmengine's DumpResults would fail
    with a traceback after the whole test)."""
    folder = tmp_path / 'out.pkl'
    folder.mkdir()
    stop = _test_tool_run(monkeypatch, tmp_path, '--dump', str(folder))
    assert str(stop.code) == (f'error: --dump {folder} is a folder; give a '
                              'file path ending with .pkl or .pickle')
    file = tmp_path / 'results'
    file.write_text('')
    for below in (file / 'out.pkl', file / 'a' / 'b' / 'out.pkl'):
        stop = _test_tool_run(monkeypatch, tmp_path, '--dump', str(below))
        assert str(stop.code) == (f'error: --dump {below}: {file} is a '
                                  'file, not a folder')
    assert file.read_text() == ''


def test_test_tool_replaces_an_existing_dump_file(tmp_path, monkeypatch):
    """An existing ``--dump`` file is replaced (as mmaction2 does), with a
    line in the log saying so; a missing folder is left to DumpResults,
    which creates it."""
    existing = tmp_path / 'out.pkl'
    existing.write_text('earlier')
    stop = _test_tool_run(monkeypatch, tmp_path, '--dump', str(existing))
    assert isinstance(stop, _Tested), stop
    assert stop.code.messages[-1] == (f'--dump: {existing} exists; this run '
                                      'replaces it')
    assert stop.code.cfg.test_evaluator[-1].out_file_path == str(existing)
    new = tmp_path / 'new' / 'sub' / 'out.pkl'
    stop = _test_tool_run(monkeypatch, tmp_path, '--dump', str(new))
    assert isinstance(stop, _Tested), stop
    assert not any('--dump' in line for line in stop.code.messages)
    assert not new.parent.parent.exists()


@pytest.mark.parametrize('fits', [False, True], ids=['refused', 'tested'])
def test_test_run_keeps_the_training_config_dump(tmp_path, monkeypatch,
                                                 fits):
    """mmengine's runner dumps its config to ``<work dir>/<config name>``;
    tools/test.py's default work dir is the training run's, whose dump a
    test run must not replace (also when the checkpoint is refused after
    the runner is built): a test run's dump is in its ``<timestamp>/``."""
    from mmvmae.registry import MODELS
    config = tmp_path / 'x.py'
    config.write_text(f'_base_ = [{FINETUNE!r}]\n')
    work = tmp_path / 'w'
    work.mkdir()
    (work / 'x.py').write_text('# the training run\n')
    state = MODELS.build(Config.fromfile(str(config)).model).state_dict()
    if not fits:
        state['cls_head.fc_cls.bias'] = torch.zeros(7)
    checkpoint = tmp_path / 'weights.pth'
    torch.save(dict(state_dict=state), checkpoint)
    args = [str(config), str(checkpoint), '--work-dir', str(work),
            '--cfg-options', 'test_dataloader.num_workers=0',
            'test_dataloader.dataset.data_root='
            f'{REPO_ROOT / "data" / "demo"}']
    if fits:
        monkeypatch.setattr(sys, 'argv', [TEST_TOOL, *args])
        runpy.run_path(TEST_TOOL, run_name='__main__')
    else:
        stop = exit_in_process(monkeypatch, 'test.py', *args)
        assert str(stop.code).startswith(f'error: {checkpoint}'), stop.code
    assert (work / 'x.py').read_text() == '# the training run\n'
    runs = [path for path in work.iterdir() if path.is_dir()]
    assert len(runs) == 1
    dumped = Config.fromfile(str(runs[0] / 'x.py'))
    assert dumped.load_from == str(checkpoint)
    from mmengine.runner import FlexibleRunner, Runner
    for runner_type in (Runner, FlexibleRunner):  # mmengine's, once built
        assert runner_type.dump_config.__module__.startswith('mmengine.')


def test_resume_skips_the_pretrained_initialisation(tmp_path, capfd):
    """A resume replaces every weight: the backbone's VideoMAEPretrained
    file is neither checked nor read (it may be gone on another machine),
    while a new run still needs it."""
    from mmvmae.registry import MODELS
    cfg = Config.fromfile(FINETUNE)
    gone = str(tmp_path / 'gone' / 'epoch_800.pth')
    cfg.model.backbone.init_cfg.checkpoint = gone
    state = MODELS.build(copy.deepcopy(cfg.model)).state_dict()
    checkpoint = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=1, iter=8)),
               checkpoint)
    cfg.work_dir, cfg.launcher = str(tmp_path / 'w'), 'none'
    new_run = build_runner_for(copy.deepcopy(cfg), str(checkpoint))
    with pytest.raises(FileNotFoundError, match='gone'):
        new_run.model.init_weights()
    cfg.resume, cfg.load_from = True, str(checkpoint)
    runner = build_runner_for(cfg, str(checkpoint))
    assert runner.model.backbone.init_cfg is None
    runner.model.init_weights()  # no file read
    assert 'the pretrained initialisation of backbone is skipped' in \
        capfd.readouterr().out


def test_schedule_ending_before_max_epochs_is_warned(capfd):
    """``train_cfg.max_epochs`` raised alone leaves the epoch-based schedule
    ending earlier: the log says the last epochs run at its end value."""
    from mmengine.logging import MMLogger
    from mmvmae.engine.runner_setup import warn_schedule_ends_early
    MMLogger.get_instance('mmvmae_schedule_warning')  # the current logger
    cfg = Config.fromfile(FINETUNE)
    ends = max(s['end'] for s in cfg.param_scheduler)
    assert cfg.train_cfg.max_epochs == ends  # the recipe as written
    warn_schedule_ends_early(cfg)
    assert 'param_scheduler ends' not in capfd.readouterr().out
    cfg.train_cfg.max_epochs = ends + 2
    warn_schedule_ends_early(cfg)
    assert f'param_scheduler ends at epoch {ends}, train_cfg.max_epochs is ' \
        f'{ends + 2}: epochs {ends + 1}-{ends + 2} run at the end value' in \
        capfd.readouterr().out
    # iteration-based schedules are not compared with epochs
    cfg.param_scheduler = [dict(type='LinearLR', by_epoch=False, end=3)]
    warn_schedule_ends_early(cfg)
    assert 'param_scheduler ends' not in capfd.readouterr().out
