"""tools/visualize_reconstruction.py: PNG grid + GIF with the caption about
patch statistics, on a generated and a real clip; clear errors."""
import numpy as np
import pytest
from PIL import Image

from apis.tiny_models import (SHARED_VIDEOS, save_tiny, tiny_pretrain_cfg,
                              write_video)
from .helpers import run_tool


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp('recon')
    config, ckpt = save_tiny(tiny_pretrain_cfg(), folder, 'pre')
    return folder, str(config), str(ckpt)


def test_png_and_gif(setup):
    folder, config, ckpt = setup
    video = SHARED_VIDEOS / 'arm_wrestling.mp4'
    if not video.is_file():
        video = write_video(folder / 'clip.mp4', np.random.default_rng(
            0).integers(0, 256, (30, 48, 64, 3), np.uint8))
    out = run_tool('visualize_reconstruction.py', str(video), config, ckpt,
                   '--out', str(folder / 'r.png'), '--gif',
                   str(folder / 'r.gif'), '--mask-ratio', '0.75',
                   cwd=folder).stdout
    assert 'ORIGINAL patch mean/std' in out and '75% of tokens' in out
    png = np.asarray(Image.open(folder / 'r.png').convert('RGB'))
    # 3 rows of 128-px frames (64 px scaled by 2) plus labels and caption
    assert png.shape[0] > 3 * 128 and png.shape[1] > 8 * 128
    assert (png == 128).all(-1).sum() > 0  # grey masked patches
    gif = Image.open(folder / 'r.gif')
    assert gif.n_frames == 8  # one per frame of the clip


def test_raw_pixel_model_is_labelled_as_such(setup, tmp_path):
    from mmvmae.apis import init_model, reconstruct
    from mmvmae.visualization.reconstruction import describe
    _, config, ckpt = setup
    model = init_model(config, ckpt, 'cpu',
                       cfg_options={'model.head.norm_pix': False})
    frames = np.random.default_rng(1).integers(0, 256, (8, 64, 64, 3),
                                               np.uint8)
    result = reconstruct(model, frames, 0.5)
    assert not result.uses_original_patch_stats
    assert 'no statistics of the original' in ' '.join(describe(result))


def test_errors(setup):
    folder, config, ckpt = setup
    short = write_video(folder / 'short.mp4',
                        np.zeros((2, 64, 64, 3), np.uint8))
    with pytest.raises(AssertionError, match='mask_ratio must be in'):
        run_tool('visualize_reconstruction.py', str(short), config, ckpt,
                 '--out', str(folder / 'x.png'), '--mask-ratio', '1.2',
                 cwd=folder)
    broken = folder / 'broken.avi'
    broken.write_bytes(b'RIFF')
    with pytest.raises(AssertionError, match='cannot decode'):
        run_tool('visualize_reconstruction.py', str(broken), config, ckpt,
                 '--out', str(folder / 'x.png'), cwd=folder)
    assert not (folder / 'x.png').exists()


def test_seed_and_max_frames(setup):
    """``--seed`` fixes the mask (same seed, same picture; another seed,
    another mask) and ``--max-frames`` caps the columns of the PNG."""
    folder, config, ckpt = setup
    video = write_video(folder / 'seeded.mp4', np.random.default_rng(
        2).integers(0, 256, (8, 64, 64, 3), np.uint8))

    def picture(seed, name):
        run_tool('visualize_reconstruction.py', str(video), config, ckpt,
                 '--out', str(folder / name), '--seed', seed,
                 '--max-frames', '3', cwd=folder)
        return np.asarray(Image.open(folder / name).convert('RGB'))

    first, again, other = (picture('1', 'a.png'), picture('1', 'b.png'),
                           picture('2', 'c.png'))
    assert np.array_equal(first, again)
    assert first.shape == other.shape
    grey = (first == 128).all(-1)  # masked patches
    assert grey.any() and not np.array_equal(grey, (other == 128).all(-1))
    # 3 columns of 128-px frames (64 px scaled by 2) plus the labels
    assert 3 * 128 < first.shape[1] < 4 * 128
