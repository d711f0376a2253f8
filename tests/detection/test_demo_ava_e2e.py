"""End to end: the AVA demo config trains, validates (frame mAP), tests and
dumps its predictions through tools/train.py and tools/test.py."""
import csv
import pickle
from pathlib import Path

import pytest
from tool_process import run_python, succeeded

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'detection' / 'videomae_vit-tiny_demo-ava.py'
SHORT = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    'model.backbone.arch.depth=1', 'train_dataloader.num_workers=0',
    'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
    'default_hooks.checkpoint.interval=1',
]


def _run(args, cwd):
    return succeeded(run_python(*args, cwd=cwd, timeout=300))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    # the config's data paths are relative: run inside a scratch folder
    cwd = tmp_path_factory.mktemp('ava_demo')
    work = cwd / 'work'
    proc = _run([str(REPO / 'tools' / 'train.py'), str(CONFIG), '--work-dir',
                 str(work), '--cfg-options', *SHORT], cwd)
    return cwd, work, proc.stdout + proc.stderr


def test_demo_trains_and_reports_frame_map(trained):
    cwd, work, log = trained
    assert (cwd / 'data' / 'ava_demo' / 'meta.json').is_file()
    assert 'loss_action_cls' in log
    line = [x for x in log.splitlines() if 'mAP/overall' in x][-1]
    value = float(line.split('mAP/overall:')[1].split()[0])
    assert 0.0 <= value <= 1.0
    assert (work / 'epoch_1.pth').is_file()


def test_demo_tests_and_dumps_pkl_and_csv(trained):
    cwd, work, _ = trained
    dump, out_csv = cwd / 'preds.pkl', cwd / 'dets.csv'
    proc = _run([str(REPO / 'tools' / 'test.py'), str(CONFIG),
                 str(work / 'epoch_1.pth'), '--work-dir', str(work),
                 '--dump', str(dump), '--cfg-options',
                 'test_dataloader.num_workers=0',
                 'model.backbone.arch.depth=1',
                 # as the config writes the evaluator, --dump or not
                 f'test_evaluator.out_csv={out_csv}'], cwd)
    assert 'mAP/overall' in proc.stdout + proc.stderr
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    first = preds[0]['pred_instances']
    assert first['scores'].shape[1] == 4 and first['bboxes'].shape[1] == 4
    rows = list(csv.reader(open(out_csv)))
    assert rows and all(len(r) == 8 for r in rows)
    assert {int(r[6]) for r in rows} <= {1, 2, 3}
    # the logged frame mAP is that of the written detections
    from mmvmae.evaluation.functional import ava_frame_map
    notes = cwd / 'data' / 'ava_demo' / 'annotations'
    expected = ava_frame_map(
        str(out_csv), str(notes / 'ava_action_list_demo.pbtxt'),
        str(notes / 'ava_val_demo.csv'),
        str(notes / 'ava_val_excluded_timestamps_demo.csv'), logger=None)
    log = proc.stdout + proc.stderr
    line = [x for x in log.splitlines() if 'mAP/overall' in x][-1]
    logged = float(line.split('mAP/overall:')[1].split()[0])
    assert logged == pytest.approx(expected['overall'], abs=1e-4)
