"""Bad config values and checkpoints fail at build time with errors that
name the field and the allowed values."""
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from tool_process import exit_in_process, run_python

from mmvmae.datasets.transforms.masking_base import check_mask_ratio
from mmvmae.registry import MODELS, TRANSFORMS
from mmvmae.utils.config_check import (CheckpointError,
                                       check_checkpoint_fits,
                                       load_checkpoint_safely)
from .tests_paths import DEMO_CONFIG, REPO_ROOT

FINETUNE = str(REPO_ROOT / 'configs' / 'finetune' /
               'videomae_vit-tiny_demo-finetune.py')
TINY = dict(embed_dims=32, depth=1, num_heads=2, mlp_ratio=4, patch_size=8)


def exit_message(monkeypatch, script, *args) -> str:
    return str(exit_in_process(monkeypatch, script, *args))


def tool(script, *args, cwd):
    return run_python(REPO_ROOT / 'tools' / script, *args, cwd=cwd,
                      timeout=300)


@pytest.mark.parametrize('kind', ['TubeMasking', 'RandomMasking',
                                  'RunningCellMasking'])
@pytest.mark.parametrize('ratio', [0, 1, 1.5, -0.2])
def test_mask_ratio_outside_open_interval(kind, ratio):
    with pytest.raises(ValueError, match=r'mask_ratio.*\(0, 1\)'):
        TRANSFORMS.build(dict(type=kind, mask_ratio=ratio))


@pytest.mark.parametrize('frames, size', [(7, 64), (8, 60)])
def test_clip_not_divisible_by_tubelet_or_patch(frames, size):
    with pytest.raises(ValueError,
                       match=r'num_frames/img_size.*tubelet_size.*patch'):
        MODELS.build(dict(type='VideoMAEViT', arch=TINY, img_size=size,
                          num_frames=frames))


def test_head_classes_must_match_the_checkpoint():
    cfg = Config.fromfile(FINETUNE)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    key = next(k for k in state if k.endswith('weight') and 'cls' in k)
    state[key] = torch.zeros(7, state[key].shape[1])  # a 7-class head
    with pytest.raises(ValueError, match=r'num_classes.*\(7, 96\)'):
        check_checkpoint_fits(model, dict(state_dict=state), 'ckpt.pth')
    check_checkpoint_fits(model, dict(state_dict=model.state_dict()))


def test_train_tool_names_an_unknown_type_and_close_matches(tmp_path):
    result = tool('train.py', DEMO_CONFIG, '--work-dir', str(tmp_path / 'w'),
                  '--cfg-options', 'model.backbone.type=VideoMAEVit',
                  cwd=tmp_path)
    assert result.returncode != 0
    assert "unknown type 'VideoMAEVit'" in result.stderr
    assert 'model.backbone.type' in result.stderr
    assert 'did you mean VideoMAEViT' in result.stderr


@pytest.mark.parametrize('script', ['train.py', 'test.py'])
def test_tools_name_a_missing_config_in_one_line(tmp_path, script,
                                                 monkeypatch):
    ckpt = tmp_path / 'epoch_1.pth'
    ckpt.write_bytes(b'')
    assert exit_message(monkeypatch, script, 'configs/nope.py', *(
        [str(ckpt)] if script == 'test.py' else [])) == \
        'error: no config file at configs/nope.py'


def test_test_tool_refuses_code_in_a_checkpoint(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ('EVIL CODE RAN', ))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Evil()}, path)
    result = tool('test.py', FINETUNE, str(path), '--work-dir',
                  str(tmp_path / 'w'), cwd=tmp_path)
    assert result.returncode != 0
    assert 'refused to load checkpoint' in result.stderr
    assert 'EVIL CODE RAN' not in result.stdout + result.stderr


@pytest.mark.parametrize('zip_format', [True, False])
def test_shape_check_load_maps_or_reads_the_file(tmp_path, zip_format):
    """test.py checks shapes from a mapped checkpoint (the runner reads the
    weights once); a legacy (non-zip) file falls back to a full read."""
    state = {'state_dict': {'w': torch.randn(3, 4)}, 'meta': {'epoch': 2}}
    path = tmp_path / 'ckpt.pth'
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    loaded = load_checkpoint_safely(str(path), mmap=True)
    torch.testing.assert_close(loaded['state_dict']['w'],
                               state['state_dict']['w'])
    assert loaded['meta'] == {'epoch': 2}

    class Evil:
        def __reduce__(self):
            return (print, ('EVIL CODE RAN', ))

    torch.save({'meta': Evil()}, path,
               _use_new_zipfile_serialization=zip_format)
    with pytest.raises(ValueError, match='refused to load'):
        load_checkpoint_safely(str(path), mmap=True)


@pytest.mark.parametrize('zip_format', [True, False])
def test_a_shell_command_in_a_checkpoint_is_refused_not_run(
        tmp_path, zip_format):
    """torch words a global from a module it blocks (``os.system``) unlike
    one off its allowlist; both are refusals, not unreadable files."""
    marker = tmp_path / 'ran'

    class Shell:
        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Shell()}, path,
               _use_new_zipfile_serialization=zip_format)
    with pytest.raises(CheckpointError,
                       match=r'refused to load checkpoint .*system'):
        load_checkpoint_safely(str(path), mmap=zip_format)
    assert not marker.exists()


def _pretrain_model():
    cfg = Config.fromfile(DEMO_CONFIG)
    return MODELS.build(cfg.model)


def _finetune_model():
    cfg = Config.fromfile(FINETUNE)
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


def test_checkpoint_missing_or_extra_weights_does_not_fit():
    # mmengine loads such a checkpoint with a warning and tests the missing
    # layers at their random init (e.g. a pretraining checkpoint: no head)
    model = _finetune_model()
    state = dict(model.state_dict())
    del state['cls_head.fc_cls.weight'], state['cls_head.fc_cls.bias']
    state['neck.mask_token'] = torch.zeros(1, 1, 64)
    with pytest.raises(ValueError, match=r'2 model weights missing.*'
                       r'cls_head\.fc_cls.*1 weights the model does not'):
        check_checkpoint_fits(model, dict(state_dict=state), 'ckpt.pth')
    # the DataParallel prefix is stripped, as mmengine's loader does
    check_checkpoint_fits(model, dict(state_dict={
        f'module.{k}': v for k, v in model.state_dict().items()}))


def test_test_tool_takes_a_work_dir_and_refuses_a_checkpoint_without_head(
        tmp_path):
    state = dict(_finetune_model().state_dict())
    del state['cls_head.fc_cls.weight'], state['cls_head.fc_cls.bias']
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    torch.save({'state_dict': state}, work_dir / 'epoch_1.pth')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    result = tool('test.py', FINETUNE, str(work_dir), '--work-dir',
                  str(tmp_path / 'w'), cwd=tmp_path)
    assert result.returncode != 0
    assert 'epoch_1.pth does not fit the model' in result.stderr
    assert 'missing' in result.stderr and 'cls_head.fc_cls' in result.stderr


def test_unknown_type_names_the_field_as_written():
    # building the runner wraps train_dataloader.dataset (sample_seeding);
    # the message must name the field of the config the user wrote
    from mmvmae.datasets.robust_seeding import enable_sample_seeding
    from mmvmae.utils.config_check import exit_on_unknown_type
    cfg = Config(dict(train_dataloader=dict(
        sampler=dict(type='DefaultSampler'),
        dataset=dict(type='VideoListDataset',
                     pipeline=[dict(type='Resise')]))))
    with pytest.raises(SystemExit, match=r'config field '
                       r'train_dataloader\.dataset\.pipeline\[0\]\.type\)'):
        with exit_on_unknown_type(cfg):
            enable_sample_seeding(cfg.train_dataloader)
            raise KeyError('Resise is not in the mmvmae::transform registry. '
                           'Please check whether the value of `Resise` is '
                           'correct or it was registered as expected.')


def test_unknown_argument_names_the_field_and_close_matches():
    from mmvmae.utils.config_check import exit_on_unknown_type
    cfg = Config(dict(train_dataloader=dict(dataset=dict(pipeline=[
        dict(type='Resize', scale=(64, 64)),
        dict(type='TubeMasking', mask_ration=0.75)]))))
    with pytest.raises(SystemExit, match=r"TubeMasking has no argument "
                       r"'mask_ration' \(config field train_dataloader\."
                       r"dataset\.pipeline\[1\]\.mask_ration\); did you mean "
                       r'mask_ratio\?'):
        with exit_on_unknown_type(cfg):
            for transform in cfg.train_dataloader.dataset.pipeline:
                TRANSFORMS.build(transform)
    # a TypeError no config field explains passes unchanged
    with pytest.raises(TypeError, match='other'):
        with exit_on_unknown_type(cfg):
            raise TypeError("f() got an unexpected keyword argument 'other'")


def test_refused_value_names_the_class_and_field(tmp_path, monkeypatch):
    """A value a class refuses while it is built from the config is one
    line naming the config dict (of two alike, the one with that value);
    a ValueError raised after building passes unchanged."""
    from mmvmae.utils.config_check import exit_on_unknown_type
    cfg = Config(dict(train_dataloader=dict(dataset=dict(pipeline=[
        dict(type='TubeMasking', mask_ratio=0.75),
        dict(type='TubeMasking', mask_ratio=1.5)]))))
    with pytest.raises(SystemExit) as stop:
        with exit_on_unknown_type(cfg):
            for transform in cfg.train_dataloader.dataset.pipeline:
                TRANSFORMS.build(transform)
    assert str(stop.value) == (
        'error: TubeMasking (config field train_dataloader.dataset.'
        'pipeline[1]): mask_ratio must be in the open interval (0, 1), '
        'got 1.5')
    with pytest.raises(ValueError, match='mask_ratio'):
        with exit_on_unknown_type(cfg):
            TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline[0])
            check_mask_ratio(1.5)
    # an upstream class's own check, too; an error from deeper code is not
    flip = Config(dict(pipeline=[dict(type='Flip', direction='diagonal')]))
    with pytest.raises(SystemExit, match=r'^error: Flip \(config field '
                       r'pipeline\[0\]\): Direction diagonal is not'):
        with exit_on_unknown_type(flip):
            TRANSFORMS.build(flip.pipeline[0])

    def parse_in_numpy(**kwargs):
        return np.linspace(0, 1, -1)  # numpy's Python code raises
    with pytest.raises(ValueError, match='must be non-negative'):
        with exit_on_unknown_type(Config(dict(x=dict(type=parse_in_numpy)))):
            TRANSFORMS.build(dict(type=parse_in_numpy))
    # the same through the tool, for the model's own checks
    assert exit_message(
        monkeypatch, 'train.py', DEMO_CONFIG, '--work-dir', str(tmp_path),
        '--cfg-options', 'model.backbone.num_frames=7') == (
        'error: VideoMAEViT (config field model.backbone): num_frames/'
        'img_size: frames 7 must be divisible by tubelet_size 2 and size '
        '(64, 64) by patch_size 8')


def test_train_tool_keeps_an_earlier_runs_checkpoints(tmp_path,
                                                      monkeypatch):
    """A new run (not --resume), or a resume from another run's checkpoint,
    into a work dir with checkpoints stops before replacing them; --resume
    with a checkpoint of another model or a corrupt one stops with the
    reason, before training."""
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    state = dict(_finetune_model().state_dict())
    torch.save({'state_dict': state, 'meta': dict(epoch=1, iter=8)},
               work_dir / 'epoch_1.pth')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    before = (work_dir / 'epoch_1.pth').read_bytes()
    message = exit_message(monkeypatch, 'train.py', DEMO_CONFIG,
                           '--work-dir', str(work_dir))
    assert 'holds the checkpoints of an earlier run (epoch_1.pth)' in \
        message and '--overwrite' in message
    assert (work_dir / 'epoch_1.pth').read_bytes() == before
    # resuming the demo pretraining from a fine-tuning checkpoint
    result = tool('train.py', DEMO_CONFIG, '--work-dir', str(work_dir),
                  '--resume', cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(
        f'error: --resume: {work_dir / "epoch_1.pth"} does not fit the '
        'model of this config')
    # resuming another run's checkpoint would replace this run's as well
    other = tmp_path / 'other_epoch_3.pth'
    other.write_bytes(before)
    message = exit_message(monkeypatch, 'train.py', DEMO_CONFIG,
                           '--work-dir', str(work_dir), '--resume', str(other))
    assert 'holds the checkpoints of an earlier run (epoch_1.pth); a run ' \
        f'resumed from {other} (another run\'s checkpoint) would replace ' \
        'them. Resume it into another --work-dir' in message
    # weights without a training state (a converted release): load_from
    weights = tmp_path / 'converted.pth'
    torch.save({'state_dict': _pretrain_model().state_dict()}, weights)
    assert exit_message(monkeypatch, 'train.py', DEMO_CONFIG, '--work-dir',
                        str(tmp_path / 'fresh'), '--resume', str(weights)) \
        == f'error: --resume: {weights} holds weights, not the state of a ' \
        'training run (epoch, iteration) to resume; start a new run from ' \
        f'its weights with --cfg-options load_from={weights}'
    (tmp_path / 'broken.pth').write_bytes(before[:len(before) // 2])
    assert exit_message(monkeypatch, 'train.py', DEMO_CONFIG, '--work-dir',
                        str(tmp_path / 'fresh'), '--resume',
                        str(tmp_path / 'broken.pth')) == (
        f'error: --resume: cannot read checkpoint {tmp_path / "broken.pth"}'
        ': not a complete PyTorch checkpoint (empty, truncated or another '
        'kind of file; RuntimeError: PytorchStreamReader failed reading zip '
        'archive: failed finding central directory)')
    assert (work_dir / 'epoch_1.pth').read_bytes() == before


@pytest.mark.parametrize('kind', ['empty', 'truncated', 'text'])
def test_unreadable_checkpoints_are_named_not_refused(tmp_path, kind):
    """A corrupt file is "cannot read", not "may run code"."""
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': {'w': torch.zeros(100)}}, path)
    data = {'empty': b'', 'truncated': path.read_bytes()[:200],
            'text': b'hello, not a checkpoint'}[kind]
    path.write_bytes(data)
    for mmap in (False, True):
        with pytest.raises(ValueError, match=r'cannot read checkpoint .*'
                           r'not a complete PyTorch checkpoint'):
            load_checkpoint_safely(str(path), mmap=mmap)


def test_missing_pretrained_encoder_is_a_one_line_error(tmp_path,
                                                        monkeypatch):
    message = exit_message(
        monkeypatch, 'train.py', FINETUNE, '--work-dir', str(tmp_path / 'w'),
        '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={tmp_path / "none.pth"}')
    assert message.startswith('error: model.backbone.init_cfg.checkpoint: '
                              'checkpoint: no file or work dir at ')


def test_blending_classes_must_match_the_head():
    from mmvmae.engine.runner_setup import prepare_train_cfg
    cfg = Config.fromfile(FINETUNE)
    prepare_train_cfg(cfg)  # the demo's are equal
    cfg.model.cls_head.num_classes = 7
    with pytest.raises(ValueError, match=r'blending\.augments\[0\] '
                       r'\(MixupBlending\) has num_classes=4, '
                       r'model\.cls_head\.num_classes is 7'):
        prepare_train_cfg(cfg)
    prepare_train_cfg(cfg, training=False)  # testing does not blend
    # the tools print it as a one-line error
    from mmvmae.utils.config_check import exit_on_unknown_type
    with pytest.raises(SystemExit, match='^error: model.data_preprocessor'):
        with exit_on_unknown_type(cfg):
            prepare_train_cfg(cfg)


def test_tools_name_a_config_without_tests_and_a_file_as_work_dir(
        tmp_path, monkeypatch):
    ckpt = tmp_path / 'epoch_1.pth'
    ckpt.write_bytes(b'')
    assert exit_message(monkeypatch, 'test.py', DEMO_CONFIG,
                        str(ckpt)).startswith(
        f'error: {DEMO_CONFIG} has no test_dataloader, test_cfg, '
        'test_evaluator: nothing to test')
    assert exit_message(monkeypatch, 'train.py', DEMO_CONFIG, '--work-dir',
                        str(ckpt)) == (f'error: work dir {ckpt} is a file, '
                                       'not a folder (--work-dir)')


class _Toy(torch.nn.Module):
    """Weights named as a recognizer's: ``backbone.*`` and
    ``cls_head.fc_cls.*`` (a 4-class head on 5 features)."""

    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Linear(3, 5)
        self.cls_head = torch.nn.Module()
        self.cls_head.fc_cls = torch.nn.Linear(5, 4)


def _fit_error(state) -> str:
    with pytest.raises(CheckpointError) as error:
        check_checkpoint_fits(_Toy(), dict(state_dict=state), 'ckpt.pth')
    return str(error.value)


def test_checkpoint_with_extra_weights_names_them_and_what_to_do():
    """Weights the model has no place for are listed (up to 3), and the
    error says to use the checkpoint's config or convert released ones."""
    state = dict(_Toy().state_dict())
    state['neck.mask_token'] = torch.zeros(1, 1, 5)
    state['decoder.norm.weight'] = torch.zeros(5)
    message = _fit_error(state)
    assert "2 weights the model does not have (e.g. ['neck.mask_token', " \
        "'decoder.norm.weight'])" in message
    assert 'missing' not in message
    assert 'Use the config the checkpoint was trained with' in message
    assert 'tools/convert_checkpoint.py' in message


def test_checkpoint_with_some_keys_module_prefixed_is_not_stripped():
    """Only a state dict whose keys all carry DataParallel's ``module.``
    prefix is stripped; in a mixed one the prefixed keys are named as
    weights the model does not have, the unprefixed ones fit as written."""
    own = _Toy().state_dict()
    state = {('module.' + k if k.startswith('backbone') else k): v
             for k, v in own.items()}
    message = _fit_error(state)
    assert "2 model weights missing from it (e.g. ['backbone.weight', " \
        "'backbone.bias'])" in message
    assert "2 weights the model does not have (e.g. ['module.backbone." \
        "weight', 'module.backbone.bias'])" in message
    assert 'cls_head' not in message  # matched, not mangled


def test_checkpoint_shapes_name_every_mismatch_and_hint_only_for_the_head():
    """All weights of other shapes are named in one error; the num_classes
    hint is given only when the classifier alone differs."""
    state = dict(_Toy().state_dict())
    state['backbone.weight'] = torch.zeros(6, 3)
    state['backbone.bias'] = torch.zeros(6)
    state['cls_head.fc_cls.weight'] = torch.zeros(7, 5)
    message = _fit_error(state)
    assert 'backbone.weight: checkpoint (6, 3) vs model (5, 3)' in message
    assert 'backbone.bias: checkpoint (6,) vs model (5,)' in message
    assert 'cls_head.fc_cls.weight: checkpoint (7, 5) vs model (4, 5)' in \
        message
    assert 'num_classes' not in message  # the backbone differs too
    head_only = dict(_Toy().state_dict())
    head_only['cls_head.fc_cls.bias'] = torch.zeros(7)
    assert 'model.cls_head.num_classes must match the checkpoint' in \
        _fit_error(head_only)


def test_blending_classes_checked_for_each_augment_and_a_lone_one():
    from mmvmae.utils.config_check import ConfigError, check_blending_classes
    field = 'model.data_preprocessor.blending'
    head = dict(num_classes=4)
    model = dict(cls_head=head, data_preprocessor=dict(blending=dict(
        augments=[dict(type='MixupBlending', num_classes=4),
                  dict(type='CutmixBlending', num_classes=5)])))
    with pytest.raises(ConfigError, match=rf'^{field}\.augments\[1\] '
                       r'\(CutmixBlending\) has num_classes=5, model\.'
                       r'cls_head\.num_classes is 4'):
        check_blending_classes(model)
    # one blending, not a list of augments
    model['data_preprocessor']['blending'] = dict(type='MixupBlending',
                                                  num_classes=3)
    with pytest.raises(ConfigError, match=rf'^{field} \(MixupBlending\) '
                       'has num_classes=3, model.cls_head.num_classes is 4'):
        check_blending_classes(model)
    model['data_preprocessor']['blending']['num_classes'] = 4
    check_blending_classes(model)


def test_missing_init_cfg_checkpoint_says_how_to_point_at_one(tmp_path):
    """A ``VideoMAEPretrained`` init_cfg whose checkpoint is not there is
    named with the --cfg-options that sets it; other init_cfgs and existing
    checkpoints pass."""
    from mmvmae.utils.config_check import (ConfigError,
                                           check_pretrained_checkpoints)
    missing = tmp_path / 'none.pth'
    backbone = dict(type='VideoMAEViT', init_cfg=dict(
        type='VideoMAEPretrained', checkpoint=str(missing)))
    head = dict(init_cfg=dict(type='Pretrained',
                              checkpoint=str(tmp_path / 'x.pth')))
    cfg = Config(dict(model=dict(type='Recognizer3D', backbone=backbone,
                                 cls_head=head)))
    with pytest.raises(ConfigError) as error:
        check_pretrained_checkpoints(cfg)
    assert str(error.value) == (
        f'model.backbone.init_cfg.checkpoint: checkpoint: no file or work '
        f'dir at {missing} (a pretraining run, or --cfg-options '
        'model.backbone.init_cfg.checkpoint=PATH)')
    torch.save({'state_dict': {}}, missing)
    check_pretrained_checkpoints(cfg)


def test_unknown_type_names_every_field_using_it():
    """An unknown type used by several config dicts names all of them; with
    no close match the message lists registered names instead."""
    from mmvmae.utils.config_check import unknown_type_message
    cfg = dict(train_pipeline=[dict(type='Zqxjk')],
               val_pipeline=[dict(type='Resize'), dict(type='Zqxjk')])
    message = unknown_type_message(KeyError(
        'Zqxjk is not in the mmvmae::transform registry. Please check'), cfg)
    assert "unknown type 'Zqxjk' (config field train_pipeline[0].type, " \
        'val_pipeline[1].type) in the mmvmae::transform registry; ' \
        'registered names include ' in message
    assert 'DecordInit' in message and 'did you mean' not in message


def test_unknown_argument_without_close_match_lists_the_arguments():
    from mmvmae.utils.config_check import unknown_argument_message
    cfg = dict(pipeline=[dict(type='TubeMasking', zzz=1)])
    assert unknown_argument_message(TypeError(
        "__init__() got an unexpected keyword argument 'zzz'"), cfg) == (
        "TubeMasking has no argument 'zzz' (config field pipeline[0].zzz); "
        'it takes input_size, mask_ratio, patch_size, tubelet_size')


@pytest.mark.parametrize('script', ['train.py', 'test.py',
                                    'visualize_reconstruction.py'])
def test_cfg_options_item_without_a_value_is_a_usage_error(
        script, monkeypatch, capsys):
    """``--cfg-options key`` (no ``=value``) is an argparse usage error
    naming the item, not mmengine's unpacking traceback."""
    args = {'train.py': [DEMO_CONFIG], 'test.py': [DEMO_CONFIG, 'x.pth'],
            'visualize_reconstruction.py': ['v.mp4', DEMO_CONFIG, 'x.pth']}
    stop = exit_in_process(monkeypatch, script, *args[script],
                           '--cfg-options', 'model.backbone.with_cp=True',
                           'train_cfg.max_epochs')
    assert stop.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        "error: --cfg-options takes key=value items, got "
        "'train_cfg.max_epochs'")


@pytest.mark.parametrize('script', ['train.py', 'test.py'])
def test_config_that_does_not_load_is_one_line(script, tmp_path,
                                               monkeypatch):
    """A config with a Python syntax error, or one that fails as it runs,
    is an ``error: config ...`` line naming the file, not a traceback."""
    extra = ['x.pth'] if script == 'test.py' else []
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(\n')
    assert exit_message(monkeypatch, script, str(broken), *extra).startswith(
        f'error: config {broken}: syntax error in line 1')
    broken.write_text('model = dict(type=Undefined)\n')
    assert exit_message(monkeypatch, script, str(broken), *extra) == (
        f'error: config {broken}: cannot load it (NameError: name '
        "'Undefined' is not defined)")
