"""``tools/train.py`` arguments: ``--resume PATH`` (a checkpoint file or a
work dir), ``--amp`` on a machine without a GPU."""
import argparse
import importlib.util

import pytest
from mmengine.config import Config

from .helpers import REPO_ROOT


def _train_tool():
    spec = importlib.util.spec_from_file_location(
        'train_tool', REPO_ROOT / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
