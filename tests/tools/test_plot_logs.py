"""tools/analysis/plot_logs.py on mmengine-style scalars.json logs
(a run resumed into a second timestamp folder)."""
import json

import numpy as np
import pytest
from PIL import Image

from .helpers import REPO_ROOT, load_tool, run_tool

SCRIPT = REPO_ROOT / 'tools' / 'analysis' / 'plot_logs.py'


def _module():
    return load_tool('analysis/plot_logs.py')


def _write(path, records):
    path.parent.mkdir(parents=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))


@pytest.fixture
def work_dir(tmp_path):
    work = tmp_path / 'work'
    first = [dict(lr=1e-4 * i, loss=2. - 0.1 * i, time=0.1, epoch=1, iter=i,
                  step=i) for i in range(1, 5)]
    first.append({'acc/top1': 0.3, 'time': 0.1, 'step': 1})
    # resumed: iteration 4 logged again, then more
    second = [dict(lr=4e-4, loss=1.5, epoch=2, iter=i, step=i)
              for i in range(4, 7)]
    second.append({'acc/top1': 0.5, 'step': 2})
    _write(work / '20260101_000000' / 'vis_data' / 'scalars.json', first)
    _write(work / '20260102_000000' / 'vis_data' / 'scalars.json', second)
    return work


def test_series_follow_the_resumed_run(work_dir):
    plot_logs = _module()
    train, val = plot_logs.load_series(str(work_dir))
    assert sorted(train['loss']) == [1, 2, 3, 4, 5, 6]
    assert train['loss'][4] == 1.5  # the resumed run's value wins
    assert train['loss'][1] == pytest.approx(1.9)
    assert val == {'acc/top1': {1: 0.3, 2: 0.5}}  # epoch 1 was before it
    assert 'time' not in train
    assert plot_logs.default_keys([(train, val)]) == ['loss', 'lr',
                                                      'acc/top1']


def test_a_run_started_over_replaces_the_earlier_logs(tmp_path, capsys):
    """A second log that starts before the first ends (``--overwrite``, or
    a resume from an earlier checkpoint) takes over from its first step:
    no values of the earlier run remain past it."""
    plot_logs = _module()
    work = tmp_path / 'work'
    old = [dict(loss=3., lr=0.1, epoch=e, iter=i, step=i)
           for e, i in ((1, 2), (1, 4), (2, 6), (2, 8), (3, 10))]
    old += [{'acc/top1': 0.2, 'step': 1}, {'acc/top1': 0.3, 'step': 2},
            {'mAP': 0.1, 'step': 2}]
    new = [dict(loss=1., lr=0.2, epoch=e, iter=i, step=i)
           for e, i in ((2, 6), (2, 8))]
    new.append({'acc/top1': 0.9, 'step': 2})
    _write(work / '20260101_000000' / 'vis_data' / 'scalars.json', old)
    _write(work / '20260102_000000' / 'vis_data' / 'scalars.json', new)
    train, val = plot_logs.load_series(str(work))
    assert train['loss'] == {2: 3., 4: 3., 6: 1., 8: 1.}
    assert val == {'acc/top1': {1: 0.2, 2: 0.9}}  # mAP only the old run had
    assert 'starts at iteration 6, where the earlier logs had reached 10' \
        in capsys.readouterr().out
    # an iteration-based run validates at iterations
    iters = tmp_path / 'iters'
    _write(iters / '1' / 'vis_data' / 'scalars.json',
           [dict(loss=3., iter=i) for i in (5, 10)] + [{'mAP': .1, 'step': 10}])
    _write(iters / '2' / 'vis_data' / 'scalars.json',
           [dict(loss=1., iter=5)])
    assert plot_logs.load_series(str(iters)) == ({'loss': {5: 1.}}, {})


def test_png_and_errors(work_dir, tmp_path):
    out = tmp_path / 'curves.png'
    result = run_tool('analysis/plot_logs.py', str(work_dir), '--out',
                      str(out), cwd=tmp_path)
    assert 'loss, lr, acc/top1' in result.stdout
    image = np.asarray(Image.open(out).convert('RGB'))
    assert image.shape[0] > image.shape[1]  # three stacked panels
    assert (image < 250).any()  # something was drawn
    with pytest.raises(AssertionError, match=r"available: \['acc/top1'"):
        run_tool('analysis/plot_logs.py', str(work_dir), '--keys', 'mAP',
                 cwd=tmp_path)
    with pytest.raises(AssertionError, match='not a scalars.json'):
        run_tool('analysis/plot_logs.py', str(tmp_path / 'empty'),
                 cwd=tmp_path)
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1, "iter": 1}\nnot json\n')
    with pytest.raises(AssertionError, match='line 2: not json'):
        run_tool('analysis/plot_logs.py', str(bad), cwd=tmp_path)
