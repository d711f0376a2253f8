"""The default data preprocessor: (x - mean) / std per RGB channel, as
VIDEOMAE.md's loss step 1 undoes, on clips (N, C, T, H, W)."""
import torch

from mmvmae.models.utils.data_preprocessor import (build_data_preprocessor,
                                                   default_data_preprocessor)

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def test_default_normalises_rgb_clips_in_place_of_channels():
    pre = build_data_preprocessor(None)
    clip = torch.zeros(1, 3, 2, 4, 4)  # (clips, C, T, H, W), channels RGB
    for channel, value in enumerate((10., 20., 30.)):
        clip[:, channel] = value
    out = pre(dict(inputs=[clip], data_samples=None))['inputs']
    assert out.shape == (1, 1, 3, 2, 4, 4)
    for channel, value in enumerate((10., 20., 30.)):
        torch.testing.assert_close(
            out[0, 0, channel],
            torch.full((2, 4, 4), (value - MEAN[channel]) / STD[channel]))


def test_default_is_a_fresh_copy():
    cfg = default_data_preprocessor()
    cfg['mean'][0] = 0.
    assert default_data_preprocessor()['mean'] == MEAN
