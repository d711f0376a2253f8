import pytest
import torch

from mmvmae.models.heads.videomae_pretrain_head import VideoMAEPretrainHead

MEAN = torch.tensor([123.675, 116.28, 103.53])
STD = torch.tensor([58.395, 57.12, 57.375])


def head(**kwargs) -> VideoMAEPretrainHead:
    return VideoMAEPretrainHead(patch_size=2, tubelet_size=2, **kwargs)


def normalised_video(b=2, t=4, h=4, w=6) -> tuple:
    pixels = torch.randint(0, 256, (b, 3, t, h, w)).float()
    return pixels, (pixels - MEAN.view(3, 1, 1, 1)) / STD.view(3, 1, 1, 1)


def loop_target(pixels: torch.Tensor, norm_pix: bool, patch: int = 2,
                tubelet: int = 2, eps: float = 1e-6) -> torch.Tensor:
    """VIDEOMAE.md steps 1-4 written out token by token, in float64."""
    pixels = pixels.double() / 255.
    b, c, t, h, w = pixels.shape
    size = tubelet * patch * patch
    tokens = []
    for n in range(b):
        for ti in range(0, t, tubelet):
            for hi in range(0, h, patch):
                for wi in range(0, w, patch):
                    cube = pixels[n, :, ti:ti + tubelet, hi:hi + patch,
                                  wi:wi + patch]
                    values = cube.reshape(c, size).T.clone()  # (thw, c)
                    if norm_pix:
                        for ch in range(c):
                            x = values[:, ch]
                            mean = x.sum() / size
                            var = (x - mean).pow(2).sum() / (size - 1)
                            values[:, ch] = (x - mean) / (var.sqrt() + eps)
                    tokens.append(values.reshape(-1))
    return torch.stack(tokens).reshape(b, -1, size * c)


@pytest.mark.parametrize('norm_pix', [True, False])
def test_target_matches_loop(norm_pix):
    pixels, video = normalised_video()
    target = head(norm_pix=norm_pix).construct_target(video)
    assert target.shape == (2, 12, 24)
    torch.testing.assert_close(target.double(),
                               loop_target(pixels, norm_pix), atol=1e-4,
                               rtol=1e-4)


@pytest.mark.parametrize('indexed', [False, True])
def test_target_eps_is_on_the_unit_pixel_scale(indexed):
    """The target is normalised from the network inputs, with eps rescaled
    to act as on [0, 1] pixels: a large eps and near-flat patches show a
    wrong scale. The input video is left as it was."""
    pixels, video = normalised_video()
    pixels[:, :, :2] = 100. + (pixels[:, :, :2] > 128)  # near-flat tokens
    video = (pixels - MEAN.view(3, 1, 1, 1)) / STD.view(3, 1, 1, 1)
    before = video.clone()
    index = torch.arange(12).repeat(2, 1) if indexed else None
    target = head(eps=0.01).construct_target(video, index)
    torch.testing.assert_close(target.double(),
                               loop_target(pixels, True, eps=0.01),
                               atol=1e-4, rtol=1e-4)
    assert torch.equal(video, before)


@pytest.mark.parametrize('norm_pix', [True, False])
def test_target_of_indexed_tokens_matches_loop(norm_pix):
    pixels, video = normalised_video(t=4, h=4, w=6)  # 2 x 2 x 3 tokens
    index = torch.tensor([[11, 0, 4, 7], [3, 5, 6, 10]])
    target = head(norm_pix=norm_pix).construct_target(video, index)
    full = loop_target(pixels, norm_pix)
    expected = torch.stack([full[n, index[n]] for n in range(2)])
    assert target.shape == (2, 4, 24) and target.is_contiguous()
    torch.testing.assert_close(target.double(), expected, atol=1e-4,
                               rtol=1e-4)


def test_loss_by_hand():
    pixels, video = normalised_video(b=2)
    target = loop_target(pixels, True).float()
    pred = torch.randn(2, 3, 24)
    index = torch.tensor([[0, 5, 7], [1, 2, 11]])
    weight = torch.tensor([[1., 1., 0.], [1., 0., 1.]])
    loss = head().loss(pred, video, index, weight)['loss']
    total = 0.
    for n in range(2):
        for m in range(3):
            if weight[n, m]:
                err = pred[n, m] - target[n, index[n, m]]
                total += err.pow(2).mean()
    torch.testing.assert_close(loss, total / 4, atol=1e-5, rtol=1e-5)


def test_pred_to_pixels_inverts_target():
    for norm_pix in (True, False):
        h = head(norm_pix=norm_pix)
        pixels, video = normalised_video()
        back = h.pred_to_pixels(h.construct_target(video), video)
        torch.testing.assert_close(back, h.patch_pixels(video), atol=1e-4,
                                   rtol=1e-4)
        assert back.shape == (2, 12, 8, 3)


def test_pred_to_pixels_on_a_flat_patch():
    """The formula: pixels = pred x (unbiased std + eps) + mean, per token
    and channel, in [0, 1] units: a flat patch (std 0) keeps eps."""
    h = head(norm_pix=True)
    video = torch.zeros(1, 3, 2, 2, 2)  # one tubelet of 2x2x2 pixels
    flat = (100. - h.mean.view(-1)) / h.std.view(-1)  # every pixel 100
    video += flat.view(1, 3, 1, 1, 1)
    pred = torch.full((1, 1, 2 * 2 * 2 * 3), 1000.)
    pixels = h.pred_to_pixels(pred, video)
    torch.testing.assert_close(pixels, torch.full_like(pixels, 100 / 255 +
                                                       1000 * h.eps))


def test_errors():
    _, video = normalised_video()
    with pytest.raises(ValueError, match='values per token'):
        head().loss(torch.randn(2, 3, 10), video, torch.zeros(2, 3).long(),
                    torch.ones(2, 3))
    with pytest.raises(ValueError, match='channels'):
        head().construct_target(video[:, :2])
    with pytest.raises(ValueError, match='mean and std'):
        head(mean=(1., 2.))
