"""tools/extract_features.py: a folder with good, short and broken videos,
resuming, a list file with averaged views."""
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
    listing.write_text('class_a/long.mp4 0\nshort.mp4 1\n')
    out = folder / 'avg'
    result = run_tool('extract_features.py', str(listing), config, ckpt,
                      '--out-dir', str(out), '--data-root', str(videos),
                      '--average-views', '--fp16', cwd=folder)
    assert '0 already done, 2 to extract' in result.stdout
    array = np.load(out / 'class_a' / 'long.npy')
    assert array.shape == (256, 32) and array.dtype == np.float16
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
