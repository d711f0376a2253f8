"""tools/extract_features.py: a folder with good, short and broken videos,
resuming, a list file with averaged views; refused: list entries outside the
root, videos sharing a .npy, an out dir of another checkpoint or options."""
import json
import shutil

import numpy as np
import pytest
import torch

from apis.tiny_models import (SHARED_VIDEOS, save_tiny, tiny_pretrain_cfg,
                              write_video)
from .helpers import run_tool


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
    with pytest.raises(AssertionError, match='1 of .* could not be read'):
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


def test_video_that_killed_the_previous_run_is_skipped(setup):
    folder, videos, config, ckpt = setup
    out = folder / 'crashed'
    out.mkdir()
    victim = str(videos / 'short.mp4')
    (out / '.in_progress').write_text(victim)  # as a segfault leaves it
    with pytest.raises(AssertionError, match='previous run died reading'):
        run_tool('extract_features.py', str(videos), config, ckpt,
                 '--out-dir', str(out), cwd=folder)
    assert not (out / 'short.npy').exists()
    assert (out / 'class_a' / 'long.npy').is_file()
    assert not (out / '.in_progress').exists()


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
