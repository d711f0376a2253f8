import pytest
import torch

from mmvmae.models.utils import PatchEmbed3d, patchify, unpatchify


def loop_patchify(video: torch.Tensor, p: int, tub: int) -> torch.Tensor:
    b, c, t, h, w = video.shape
    tokens = []
    for ti in range(t // tub):
        for hi in range(h // p):
            for wi in range(w // p):
                pixels = []
                for dt in range(tub):
                    for dy in range(p):
                        for dx in range(p):
                            pixels.append(video[:, :, ti * tub + dt,
                                                hi * p + dy, wi * p + dx])
                tokens.append(torch.stack(pixels, dim=1))  # (B, L, C)
    return torch.stack(tokens, dim=1)


def test_patchify_matches_loop():
    video = torch.randn(2, 3, 4, 8, 12)
    out = patchify(video, patch=4, tubelet=2)
    assert out.shape == (2, 2 * 2 * 3, 2 * 4 * 4, 3)
    torch.testing.assert_close(out, loop_patchify(video, 4, 2), rtol=0,
                               atol=0)


def test_round_trip():
    video = torch.randn(2, 3, 6, 16, 8)
    patches = patchify(video, patch=4, tubelet=3)
    back = unpatchify(patches, patch=4, tubelet=3, grid=(2, 4, 2))
    assert torch.equal(back, video)


def test_patch_embed_is_linear_on_patches():
    embed = PatchEmbed3d(3, 16, patch_size=4, tubelet_size=2)
    embed.reset_parameters()
    video = torch.randn(2, 3, 4, 8, 8)
    tokens, grid = embed(video)
    assert grid == (2, 2, 2) and tokens.shape == (2, 8, 16)
    # Conv3d weight (D, C, t, h, w) -> (D, t*h*w*C) in patchify's order
    weight = embed.proj.weight.permute(0, 2, 3, 4, 1).reshape(16, -1)
    ref = patchify(video, 4, 2).flatten(2) @ weight.T + embed.proj.bias
    torch.testing.assert_close(tokens, ref, atol=1e-5, rtol=1e-5)
    assert torch.count_nonzero(embed.proj.bias) == 0


def test_errors_name_the_sizes():
    with pytest.raises(ValueError, match='divisible'):
        patchify(torch.randn(1, 3, 3, 8, 8), patch=4, tubelet=2)
    with pytest.raises(ValueError, match='grid'):
        unpatchify(torch.randn(1, 8, 32, 3), patch=4, tubelet=2,
                   grid=(2, 2, 3))
