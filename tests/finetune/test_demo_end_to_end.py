"""End to end through the real tools: demo pretraining (1 short epoch) ->
demo fine-tuning from its work dir -> multi-view test with --dump."""
import pickle
from pathlib import Path

import pytest
from tool_process import run_python, succeeded

ROOT = Path(__file__).resolve().parents[2]
PRETRAIN = ROOT / 'configs' / 'pretrain' / 'videomae_vit-tiny_demo-pretrain.py'
FINETUNE = ROOT / 'configs' / 'finetune' / 'videomae_vit-tiny_demo-finetune.py'


def run(script, *args):
    proc = succeeded(run_python(ROOT / script, *args, cwd=ROOT, timeout=300))
    return proc.stdout + proc.stderr


@pytest.mark.skipif(not PRETRAIN.is_file(),
                    reason=f'demo pretraining config missing: {PRETRAIN}')
def test_pretrain_finetune_test_dump(tmp_path):
    pre, ft = tmp_path / 'pre', tmp_path / 'ft'
    run('tools/train.py', PRETRAIN, '--work-dir', pre, '--cfg-options',
        'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=8',
        'train_dataloader.num_workers=0')
    assert (pre / 'last_checkpoint').is_file()
    log = run('tools/train.py', FINETUNE, '--work-dir', ft, '--cfg-options',
              f'model.backbone.init_cfg.checkpoint={pre}',
              'train_cfg.max_epochs=1',
              'train_dataloader.dataset.dataset.indices=8',
              'val_dataloader.dataset.indices=4',
              'train_dataloader.num_workers=0',
              'val_dataloader.num_workers=0')
    assert 'loaded 54 encoder weights' in log  # 4 blocks x 13 + patch embed
    ckpt = (ft / 'last_checkpoint').read_text().strip()
    dump = tmp_path / 'result.pkl'
    log = run('tools/test.py', FINETUNE, ckpt, '--work-dir', ft, '--dump',
              dump, '--cfg-options', 'test_dataloader.dataset.indices=5',
              'test_dataloader.num_workers=0')
    assert 'acc/top1' in log and 'acc/mean1' in log
    with open(dump, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 5  # one entry per test video
    for result in results:
        score = result['pred_score']
        assert score.shape == (4, ) and abs(float(score.sum()) - 1) < 1e-4
        assert int(result['pred_label']) == int(score.argmax())
        assert 0 <= int(result['gt_label']) < 4
