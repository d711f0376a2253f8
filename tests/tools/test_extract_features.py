"""tools/extract_features.py: a folder with good, short and broken videos,
resuming, a list file with averaged views; runs stopped (SIGTERM, Ctrl-C, an
error), killed or crashed by a video; refused: list entries outside the
root, videos sharing a .npy, an out dir of another checkpoint or options."""
import json
import shutil
import signal

import numpy as np
import pytest
import torch

from apis.tiny_models import (SHARED_VIDEOS, save_tiny, tiny_pretrain_cfg,
                              tiny_recognizer_cfg, write_video)
from tool_process import run_python

from .helpers import REPO_ROOT, exit_in_process, load_tool, run_tool


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp('features')
    config, ckpt = save_tiny(tiny_pretrain_cfg(), folder, 'pre')
    videos = folder / 'videos'
    (videos / 'class_a').mkdir(parents=True)
    rng = np.random.default_rng(0)
    write_video(videos / 'class_a' / 'long.mp4',
                rng.integers(0, 256, (24, 40, 56, 3), np.uint8))
    write_video(videos / 'short.mp4',  # shorter than the 8 x 2 span
                rng.integers(0, 256, (3, 64, 64, 3), np.uint8))
    real = SHARED_VIDEOS / 'test.avi'
    if real.is_file():
        shutil.copy(real, videos / 'real.avi')
    return folder, videos, str(config), str(ckpt)


def test_folder_resume_and_failures(setup):
    from mmvmae.apis import extract_features, init_model
    folder, videos, config, ckpt = setup
    (videos / 'broken.mp4').write_bytes(b'garbage')
    out = folder / 'out'
    with pytest.raises(AssertionError, match='1 of [34] videos could not '
                       'be read'):
        run_tool('extract_features.py', str(videos), config, ckpt,
                 '--out-dir', str(out), cwd=folder)
    assert 'broken.mp4' in (out / 'failed.txt').read_text()
    saved = out / 'class_a' / 'long.npy'
    features = np.load(saved)
    assert features.shape == (1, 4 * 8 * 8, 32)  # (views, tokens, C)
    model = init_model(config, ckpt, 'cpu')
    expected = extract_features(model, str(videos / 'class_a' / 'long.mp4'))
    torch.testing.assert_close(torch.from_numpy(features), expected)
    assert np.load(out / 'short.npy').shape == (1, 256, 32)
    if (videos / 'real.avi').exists():
        assert np.load(out / 'real.npy').shape == (1, 256, 32)

    (videos / 'broken.mp4').unlink()
    stamp = saved.stat().st_mtime_ns
    again = run_tool('extract_features.py', str(videos), config, ckpt,
                     '--out-dir', str(out), cwd=folder).stdout
    assert 'already done, 0 to extract' in again
    assert saved.stat().st_mtime_ns == stamp  # not recomputed
    assert not (out / 'failed.txt').exists()  # it named the deleted video
    assert not list(out.rglob('*.tmp*'))


def test_list_file_with_averaged_views(setup):
    folder, videos, config, ckpt = setup
    listing = folder / 'list.txt'
    # an absolute entry inside the root: its .npy goes into --out-dir too
    listing.write_text(f'class_a/long.mp4 0\n{videos / "short.mp4"} 1\n')
    out = folder / 'avg'
    result = run_tool('extract_features.py', str(listing), config, ckpt,
                      '--out-dir', str(out), '--data-root', str(videos),
                      '--average-views', '--fp16', cwd=folder)
    assert '0 already done, 2 to extract' in result.stdout
    array = np.load(out / 'class_a' / 'long.npy')
    assert array.shape == (256, 32) and array.dtype == np.float16
    assert (out / 'short.npy').is_file()
    assert not (videos / 'short.npy').exists()
    with pytest.raises(AssertionError, match='no folder or list file'):
        run_tool('extract_features.py', str(folder / 'nope'), config, ckpt,
                 '--out-dir', str(out), cwd=folder)


# Runs tools/extract_features.py with ``extract_features`` doing ACTION when
# it reads the video named VICTIM: what a decoder crash ('segv'), SIGKILL,
# a scheduler's SIGTERM, Ctrl-C or a Python error does to the run.
DIE_ON = """\
import os, resource, runpy, signal, sys, time
import mmvmae.apis
action, victim, tool = sys.argv[1:4]
real = mmvmae.apis.extract_features

def extract(model, path, **kwargs):
    if os.path.basename(path) == victim:
        if action == 'error':
            raise RuntimeError('boom')
        if action == 'interrupt':
            raise KeyboardInterrupt
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.kill(os.getpid(), dict(segv=signal.SIGSEGV, kill=signal.SIGKILL,
                                  term=signal.SIGTERM)[action])
        time.sleep(60)
    return real(model, path, **kwargs)

mmvmae.apis.extract_features = extract
sys.argv, sys.path[0] = [tool, *sys.argv[4:]], os.path.dirname(tool)
runpy.run_path(tool, run_name='__main__')
"""


def _three_videos(setup, name):
    """``(folder of a.mp4, b.mp4, c.mp4, extraction command args)``."""
    folder, videos, config, ckpt = setup
    source = folder / f'{name}_videos'
    source.mkdir()
    for video in 'abc':
        shutil.copy(videos / 'short.mp4', source / f'{video}.mp4')
    return source, [str(source), config, ckpt, '--out-dir',
                    str(folder / name)]


def _die_on(folder, action, victim, args):
    """The tool run with ``victim`` doing ``action`` (see DIE_ON)."""
    script = folder / 'die_on.py'
    script.write_text(DIE_ON)
    return run_python(script, action, victim,
                      REPO_ROOT / 'tools' / 'extract_features.py', *args,
                      cwd=folder)


@pytest.mark.parametrize('action, returncode', [
    ('term', -signal.SIGTERM), ('interrupt', -signal.SIGINT),
    ('error', 1)])
def test_stopped_run_blames_no_video(setup, action, returncode):
    folder = setup[0]
    source, args = _three_videos(setup, f'stopped_{action}')
    out = folder / f'stopped_{action}'
    stopped = _die_on(folder, action, 'b.mp4', args)
    assert not (out / '.in_progress').exists()  # b.mp4 is not to blame
    assert stopped.returncode == returncode, stopped.stderr
    assert ('error while extracting ' + str(source / 'b.mp4')
            if action == 'error' else 'stopped by SIG') in stopped.stderr
    assert (out / 'a.npy').is_file() and not (out / 'b.npy').exists()
    assert not list(out.rglob('*.tmp*'))
    again = run_tool('extract_features.py', *args, cwd=folder)
    assert '1 already done, 2 to extract' in again.stdout
    assert 'warning' not in again.stderr
    assert sorted(p.name for p in out.glob('*.npy')) == \
        ['a.npy', 'b.npy', 'c.npy']


def test_killed_run_retries_the_video_last(setup):
    # SIGKILL (or the out-of-memory killer) leaves the marker: the video is
    # tried again, after the others, and extracts
    folder = setup[0]
    source, args = _three_videos(setup, 'killed')
    out = folder / 'killed'
    killed = _die_on(folder, 'kill', 'b.mp4', args)
    assert killed.returncode == -signal.SIGKILL
    marker = json.loads((out / '.in_progress').read_text())
    assert marker == dict(video=str(source / 'b.mp4'), attempt=1)
    again = run_tool('extract_features.py', *args, cwd=folder)
    assert f'previous run died while reading {source / "b.mp4"}' in \
        again.stderr
    assert sorted(p.name for p in out.glob('*.npy')) == \
        ['a.npy', 'b.npy', 'c.npy']
    assert not (out / '.in_progress').exists()
    assert not (out / 'crashed.txt').exists()
    # an older version's marker (the path alone) is retried the same way
    (out / 'b.npy').unlink()
    (out / '.in_progress').write_text(str(source / 'b.mp4'))
    again = run_tool('extract_features.py', *args, cwd=folder)
    assert 'previous run died while reading' in again.stderr
    assert (out / 'b.npy').is_file()


def test_video_that_kills_two_runs_is_skipped_and_reported(setup):
    folder = setup[0]
    source, args = _three_videos(setup, 'crashed')
    out = folder / 'crashed'
    first = _die_on(folder, 'segv', 'b.mp4', args)
    assert first.returncode == -signal.SIGSEGV
    assert (out / 'a.npy').is_file() and not (out / 'c.npy').exists()
    # the retry comes after c.mp4, so that one is done when it dies again
    second = _die_on(folder, 'segv', 'b.mp4', args)
    assert second.returncode == -signal.SIGSEGV
    assert 'previous run died while reading' in second.stderr
    assert (out / 'c.npy').is_file()
    with pytest.raises(AssertionError, match='1 of 1 videos could not be '
                       'read') as error:
        run_tool('extract_features.py', *args, cwd=folder)
    assert 'b.mp4\tkilled two runs while it was read' in str(error.value)
    assert (out / 'crashed.txt').read_text() == f'{source / "b.mp4"}\n'
    assert 'killed two runs' in (out / 'failed.txt').read_text()
    assert not (out / '.in_progress').exists()
    # later runs do not read it again (it would crash them), until its
    # line is removed from crashed.txt
    later = _die_on(folder, 'segv', 'b.mp4', args)
    assert later.returncode == 1 and 'killed two runs' in later.stderr
    (out / 'crashed.txt').write_text('')
    run_tool('extract_features.py', *args, cwd=folder)
    assert (out / 'b.npy').is_file()


def test_list_entries_outside_the_root_are_refused(setup):
    folder, videos, config, ckpt = setup
    listing = folder / 'outside.txt'
    listing.write_text(f'long.mp4 0\n{videos / "short.mp4"} 1\n'
                       '../../elsewhere.mp4 2\n')
    out = folder / 'outside'
    with pytest.raises(AssertionError, match='2 entries of .* lie outside'
                       ) as error:
        run_tool('extract_features.py', str(listing), config, ckpt,
                 '--out-dir', str(out), '--data-root',
                 str(videos / 'class_a'), cwd=folder)
    assert 'short.mp4, ../../elsewhere.mp4; pass a --data-root' in str(
        error.value)
    assert not out.exists() and not (videos / 'short.npy').exists()


def test_videos_sharing_a_npy_are_refused(setup):
    folder, videos, config, ckpt = setup
    clash = folder / 'clash'
    clash.mkdir()
    for name in ('a.mp4', 'a.avi', 'b.mp4'):
        shutil.copy(videos / 'short.mp4', clash / name)
    out = folder / 'clash_out'
    with pytest.raises(AssertionError, match='1 .npy file.* would hold '
                       'several videos') as error:
        run_tool('extract_features.py', str(clash), config, ckpt,
                 '--out-dir', str(out), cwd=folder)
    assert f'{out / "a.npy"} <- {clash / "a.avi"}, {clash / "a.mp4"}' in str(
        error.value)
    assert not out.exists()
    # a video listed twice is no clash
    listing = clash / 'list.txt'
    listing.write_text('b.mp4 0\n./b.mp4 1\na.mp4 0\na.avi 0\n')
    with pytest.raises(AssertionError, match='1 .npy file') as error:
        run_tool('extract_features.py', str(listing), config, ckpt,
                 '--out-dir', str(out), cwd=folder)
    assert 'b.npy' not in str(error.value)


def test_out_dir_of_another_checkpoint_or_options_is_refused(setup):
    folder, videos, config, ckpt = setup
    one = folder / 'one'
    one.mkdir()
    shutil.copy(videos / 'short.mp4', one / 'short.mp4')
    out = folder / 'manifest'
    run_tool('extract_features.py', str(one), config, ckpt, '--out-dir',
             str(out), cwd=folder)
    manifest = json.loads((out / 'extract_features.json').read_text())
    assert manifest['views'] == 'single' and manifest['fp16'] is False

    other = folder / 'other.pth'
    state = torch.load(ckpt, weights_only=True)
    state['state_dict'] = {k: v + 1 for k, v in state['state_dict'].items()}
    torch.save(state, other)
    with pytest.raises(AssertionError, match='holds features of another '
                       'run') as error:
        run_tool('extract_features.py', str(one), config, str(other),
                 '--out-dir', str(out), '--fp16', cwd=folder)
    assert 'checkpoint (was' in str(error.value)
    assert 'fp16 (was False, now True)' in str(error.value)
    assert 'views' not in str(error.value)

    # a copy of the checkpoint is the same model; an older version's out
    # dir (no manifest) is resumed with a warning and gets one
    copy = folder / 'copy.pth'
    shutil.copy(ckpt, copy)
    (out / 'extract_features.json').unlink()
    result = run_tool('extract_features.py', str(one), config, str(copy),
                      '--out-dir', str(out), cwd=folder)
    assert 'no extract_features.json' in result.stderr
    assert '1 already done, 0 to extract' in result.stdout
    result = run_tool('extract_features.py', str(one), config, ckpt,
                      '--out-dir', str(out), cwd=folder)
    assert 'warning' not in result.stderr
    assert '1 already done, 0 to extract' in result.stdout


def test_input_may_be_one_video(tmp_path):
    """One video is a list of one (it was read as a list file: a utf-8
    decoding error)."""
    tool = load_tool('extract_features.py')
    video = tmp_path / 'clip.MP4'
    video.write_bytes(b'\x93 not text')
    assert tool.list_videos(str(video)) == [(str(video), 'clip.MP4')]


def test_averaged_test_views_and_cfg_options_in_the_record(setup):
    """--average-views with --views test saves the mean of the per-view
    rows (2 clips x 3 crops of the recognizer's test pipeline); the
    --cfg-options are part of the run record, and another value into the
    same --out-dir is refused."""
    folder, videos, _, _ = setup
    config, ckpt = save_tiny(tiny_recognizer_cfg(), folder, 'rec')
    one = folder / 'one_long'
    one.mkdir()
    shutil.copy(videos / 'class_a' / 'long.mp4', one / 'long.mp4')
    args = [str(one), str(config), str(ckpt), '--views', 'test']
    per_view_dir, mean_dir = folder / 'per_view', folder / 'mean'
    option = 'model.backbone.drop_path_rate=0.0'  # no effect in eval mode
    run_tool('extract_features.py', *args, '--out-dir', str(per_view_dir),
             '--cfg-options', option, cwd=folder)
    run_tool('extract_features.py', *args, '--out-dir', str(mean_dir),
             '--average-views', cwd=folder)
    per_view = np.load(per_view_dir / 'long.npy')
    mean = np.load(mean_dir / 'long.npy')
    assert per_view.shape == (6, 32) and mean.shape == (32, )
    assert not np.allclose(per_view[0], per_view.mean(0), atol=1e-4)
    np.testing.assert_allclose(mean, per_view.mean(0), rtol=1e-5, atol=1e-6)

    record = json.loads((per_view_dir / 'extract_features.json').read_text())
    assert record['cfg_options'] == {'model.backbone.drop_path_rate': 0.0}
    assert record['views'] == 'test' and record['average_views'] is False
    assert json.loads((mean_dir / 'extract_features.json').read_text())[
        'cfg_options'] is None
    with pytest.raises(AssertionError, match=r'cfg_options \(was '
                       r"\{'model.backbone.drop_path_rate': 0.0\}, now "
                       r"\{'model.backbone.drop_path_rate': 0.5\}\)"):
        run_tool('extract_features.py', *args, '--out-dir',
                 str(per_view_dir), '--cfg-options',
                 'model.backbone.drop_path_rate=0.5', cwd=folder)


def test_out_dir_file_and_broken_config_are_one_line_errors(
        setup, monkeypatch, tmp_path):
    """Refused before the model is built (an --out-dir that is a file was a
    FileExistsError traceback once the model was built; a config with a
    syntax error, a SyntaxError traceback)."""
    _, videos, config, ckpt = setup
    taken = tmp_path / 'taken'
    taken.write_text('mine')
    for out_dir in (taken, taken / 'below'):
        assert str(exit_in_process(
            monkeypatch, 'extract_features.py', str(videos), config, ckpt,
            '--out-dir', str(out_dir))) == \
            f'error: --out-dir {out_dir}: {taken} is a file, not a folder'
    assert taken.read_text() == 'mine'
    bad = tmp_path / 'bad.py'
    bad.write_text('x = (\n')
    assert str(exit_in_process(
        monkeypatch, 'extract_features.py', str(videos), str(bad), ckpt,
        '--out-dir', str(tmp_path / 'out'))) == \
        f"error: config {bad}: syntax error in line 1: '(' was never closed"
    assert not (tmp_path / 'out').exists()
