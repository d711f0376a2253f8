"""End to end: the README's demo pretraining through tools/train.py."""
import torch

from .helpers import REPO_ROOT, run_tool, scalar_logs

DEMO = str(REPO_ROOT / 'configs/pretrain/videomae_vit-tiny_demo-pretrain.py')
FAST = ['train_dataloader.num_workers=0', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=1']


def test_demo_pretrain_trains_checkpoints_and_resumes(tmp_path):
    work_dir = tmp_path / 'work'
    first = run_tool('train.py', DEMO, '--work-dir', str(work_dir),
                     '--cfg-options', 'train_cfg.max_epochs=2', *FAST,
                     cwd=tmp_path)
    log = first.stdout + first.stderr
    # the embedded dataset is made on first use, and says so
    assert (tmp_path / 'data' / 'demo').is_dir()
    assert 'world size: 1' in log
    # the default runtime's keep_freed_memory = True (CI runs on glibc)
    assert 'keep_freed_memory: glibc keeps freed memory' in log

    losses = [r['loss'] for r in scalar_logs(work_dir) if 'loss' in r]
    assert len(losses) == 16  # 64 videos / batch 8 x 2 epochs
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-4:]) < sum(losses[:4])  # falling loss

    ckpt = work_dir / 'epoch_2.pth'
    assert ckpt.is_file()
    state = torch.load(ckpt, map_location='cpu')  # weights_only by default
    assert any(k.startswith('backbone.blocks.0.') for k in state['state_dict'])
    assert any(k.startswith('neck.') for k in state['state_dict'])

    second = run_tool('train.py', DEMO, '--work-dir', str(work_dir),
                      '--resume', '--cfg-options', 'train_cfg.max_epochs=3',
                      *FAST, cwd=tmp_path)
    log = second.stdout + second.stderr
    assert 'resumed' in log.lower()
    assert 'Epoch(train) [1]' not in log  # continued, did not restart
    assert (work_dir / 'epoch_3.pth').is_file()
