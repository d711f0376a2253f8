"""Checkpoints and last_checkpoint are replaced atomically: a failure while
saving leaves the previous ones intact and loadable."""
import os

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner, find_latest_checkpoint

from mmvmae.utils import atomic_write as atomic_module
from mmvmae.utils.atomic_write import atomic_write


class Crash(Exception):
    pass


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / 'last_checkpoint'
    atomic_write('old', target)

    def write_half_then_die(fd):
        raise Crash('killed while saving')

    monkeypatch.setattr(atomic_module.os, 'fsync', write_half_then_die)
    with pytest.raises(Crash):
        atomic_write('new contents', target)
    assert target.read_text() == 'old'
    assert os.listdir(tmp_path) == ['last_checkpoint']  # no temp file left
    monkeypatch.undo()
    atomic_write(b'new', target)
    assert target.read_bytes() == b'new'


class _Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(torch.stack(inputs) if isinstance(inputs, list)
                          else inputs)
        return dict(loss=(out.squeeze(-1) - labels).pow(2).mean())


class _Data(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, idx):
        x = torch.full((2, ), float(idx))
        return dict(inputs=x, labels=x.sum())


def _runner(work_dir, epochs, **hook):
    return Runner(
        model=_Toy(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_Data(), batch_size=2,
                              sampler=dict(type='DefaultSampler'),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook',
                                           interval=1, **hook)),
        default_scope='mmvmae')


@pytest.mark.parametrize('keep', [dict(), dict(max_keep_ckpts=1)])
def test_crash_while_saving_keeps_the_last_good_checkpoint(
        tmp_path, monkeypatch, keep):
    # with max_keep_ckpts=1 the previous checkpoint is the one to remove:
    # only after the new one is complete
    _runner(tmp_path, 1, **keep).train()
    assert find_latest_checkpoint(str(tmp_path)).endswith('epoch_1.pth')

    real_replace = os.replace

    def die_on_epoch_2(src, dst):
        if str(dst).endswith('epoch_2.pth'):
            # the bytes are on disk in the temp file; die before the rename
            raise Crash('killed while saving epoch 2')
        return real_replace(src, dst)

    monkeypatch.setattr(atomic_module.os, 'replace', die_on_epoch_2)
    runner = _runner(tmp_path, 2, **keep)
    runner._resume = True
    with pytest.raises(Crash):
        runner.train()
    monkeypatch.undo()
    assert not (tmp_path / 'epoch_2.pth').exists()
    assert not [f for f in os.listdir(tmp_path) if '.tmp' in f]
    latest = find_latest_checkpoint(str(tmp_path))
    assert latest.endswith('epoch_1.pth')
    state = torch.load(latest, map_location='cpu')  # complete, loadable
    assert state['meta']['epoch'] == 1


def test_max_keep_ckpts_removes_the_oldest_after_saving(tmp_path):
    _runner(tmp_path, 3, max_keep_ckpts=1).train()
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) \
        == ['epoch_3.pth']
    assert find_latest_checkpoint(str(tmp_path)).endswith('epoch_3.pth')


def test_remote_out_dir_keeps_mmengines_backend():
    """Only local checkpoints go through the atomic local backend."""
    from mmvmae.registry import HOOKS
    local = HOOKS.build(dict(type='AtomicCheckpointHook', interval=1))
    remote = HOOKS.build(dict(type='AtomicCheckpointHook', interval=1,
                              out_dir='s3://bucket/runs'))
    assert local.backend_args == dict(backend='local_atomic')
    assert remote.backend_args is None


def test_max_keep_ckpts_removes_deepspeed_folders(tmp_path, monkeypatch):
    """DeepSpeed saves a checkpoint as a folder: the oldest is removed as a
    file would be."""
    def save_folder(self, out_dir, filename, *args, **kwargs):
        folder = tmp_path / filename
        folder.mkdir()
        (folder / 'mp_rank_00_model_states.pt').write_bytes(b'weights')

    monkeypatch.setattr(Runner, 'save_checkpoint', save_folder)
    _runner(tmp_path, 3, max_keep_ckpts=1).train()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()
                  and p.name.startswith('epoch_')) == ['epoch_3.pth']


@pytest.mark.parametrize('umask', [0o022, 0o027])
def test_atomic_file_gets_the_umask_permissions(tmp_path, umask):
    """The target gets 0o666 less the umask, like a plain open() would, also
    when the writer (e.g. safetensors) made the temp file 0600."""
    old = os.umask(umask)
    try:
        target = tmp_path / 'model.safetensors'
        with atomic_module.atomic_file(target) as tmp:
            with open(tmp, 'wb') as f:
                f.write(b'weights')
            os.chmod(tmp, 0o600)
        plain = tmp_path / 'plain'
        with open(plain, 'wb') as f:
            f.write(b'x')
    finally:
        os.umask(old)
    assert target.read_bytes() == b'weights'
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_atomic_write_fsyncs_the_folder_after_the_rename(tmp_path,
                                                         monkeypatch):
    """The folder is fsynced after ``os.replace`` so the rename itself
    survives a power cut."""
    events, opened = [], {}
    real_open, real_fsync, real_replace = os.open, os.fsync, os.replace

    def record_open(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        opened[fd] = os.path.abspath(os.fspath(path))
        return fd

    def record_fsync(fd):
        events.append(('fsync', opened.get(fd)))
        return real_fsync(fd)

    def record_replace(src, dst):
        events.append(('replace', os.path.abspath(os.fspath(dst))))
        return real_replace(src, dst)

    monkeypatch.setattr(atomic_module.os, 'open', record_open)
    monkeypatch.setattr(atomic_module.os, 'fsync', record_fsync)
    monkeypatch.setattr(atomic_module.os, 'replace', record_replace)
    folder = tmp_path / 'work'
    atomic_write('data', folder / 'last_checkpoint')
    monkeypatch.undo()
    assert ('replace', str(folder / 'last_checkpoint')) in events
    after = events[events.index(
        ('replace', str(folder / 'last_checkpoint'))) + 1:]
    assert ('fsync', str(folder)) in after


def test_put_text_encodes_with_the_given_encoding(tmp_path):
    """``put_text`` (and ``atomic_write`` of a str) writes UTF-8 by
    default, or the encoding asked for."""
    backend = atomic_module.AtomicLocalBackend()
    text = 'naïve – 東京 ✓'
    atomic_write(text, tmp_path / 'direct.txt')
    assert (tmp_path / 'direct.txt').read_bytes() == text.encode('utf-8')
    backend.put_text(text, tmp_path / 'utf8.txt')
    assert (tmp_path / 'utf8.txt').read_bytes() == text.encode('utf-8')
    backend.put_text('café', tmp_path / 'latin.txt', encoding='latin-1')
    assert (tmp_path / 'latin.txt').read_bytes() == b'caf\xe9'
