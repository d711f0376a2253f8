import numpy as np
import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.optim import OptimWrapper

from mmvmae.registry import MODELS

from .test_backbone import block_to_hf, encoder_to_hf, randomise
from .test_pretrain_head import loop_target

# 4 frames x 32 px, tubelet 2, patch 8: token grid (2, 4, 4), N = 32
N, PIX = 32, 2 * 8 * 8 * 3


def build(norm_pix=True, **common):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='VideoMAE',
        backbone=dict(type='VideoMAEViT', img_size=32, num_frames=4,
                      patch_size=8,
                      arch=dict(embed_dims=32, depth=2, num_heads=2),
                      **common),
        neck=dict(type='VideoMAEDecoder', in_channels=32, embed_dims=16,
                  depth=1, num_heads=2, patch_size=8, num_tokens=N,
                  **common),
        head=dict(type='VideoMAEPretrainHead', norm_pix=norm_pix,
                  patch_size=8)))


def tube_masks(b: int, visible_per_slot: int, seed: int = 0) -> list:
    """Numpy (N,) masks, the same spatial pattern in both temporal slots."""
    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(b):
        spatial = np.ones(16, dtype=bool)
        spatial[rng.permutation(16)[:visible_per_slot]] = False
        masks.append(np.tile(spatial, 2))
    return masks


def batch(model, b=2, visible_per_slot=4, decoder_keep=None, seed=0):
    """A data batch the way the pipeline and preprocessor produce it."""
    return model.data_preprocessor(
        raw_batch(b, visible_per_slot, decoder_keep, seed))


def raw_batch(b=2, visible_per_slot=4, decoder_keep=None, seed=0):
    """A collated batch as the dataloader yields it."""
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for mask in tube_masks(b, visible_per_slot, seed):
        sample = ActionDataSample()
        sample.set_field(mask, 'mask')
        if decoder_keep is not None:
            dropped = np.ones(N, dtype=bool)
            dropped[np.random.default_rng(seed).permutation(N)
                    [:decoder_keep]] = False
            sample.set_field(dropped, 'decoder_mask')
        samples.append(sample)
    videos = [torch.randint(0, 256, (1, 3, 4, 32, 32), generator=gen,
                            dtype=torch.uint8) for _ in range(b)]
    return dict(inputs=videos, data_samples=samples)


def decoder_to_hf(ours: dict, depth: int) -> dict:
    out = {k: ours[k] for k in ('encoder_to_decoder.weight', 'mask_token')}
    for name in ('norm', 'head'):
        for p in ('weight', 'bias'):
            out[f'decoder.{name}.{p}'] = ours[f'{name}.{p}']
    for i in range(depth):
        out.update(block_to_hf(ours, f'blocks.{i}',
                               f'decoder.decoder_layers.{i}'))
    return out


def test_loss_matches_transformers():
    transformers = pytest.importorskip('transformers')
    model = build().eval()
    randomise(model)
    data = batch(model)
    assert data['inputs'].shape == (2, 1, 3, 4, 32, 32)
    config = transformers.VideoMAEConfig(
        image_size=32, patch_size=8, num_frames=4, tubelet_size=2,
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, qkv_bias=True, use_mean_pooling=False,
        decoder_hidden_size=16, decoder_num_hidden_layers=1,
        decoder_num_attention_heads=2, decoder_intermediate_size=64,
        norm_pix_loss=True, layer_norm_eps=1e-6, attn_implementation='eager')
    hf = transformers.VideoMAEForPreTraining(config).eval()
    state = encoder_to_hf(model.backbone.state_dict(), 2, 'videomae.')
    state.update(decoder_to_hf(model.neck.state_dict(), 1))
    result = hf.load_state_dict(state, strict=False)
    assert not result.unexpected_keys
    assert all('position' in k for k in result.missing_keys)
    mask = torch.from_numpy(np.stack([s.mask for s in data['data_samples']]))
    with torch.no_grad():
        ours = model(**data, mode='loss')['loss']
        ref = hf(data['inputs'][:, 0].transpose(1, 2),
                 bool_masked_pos=mask).loss
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_v2_loss_counts_masked_and_kept_tokens():
    model = build().eval()
    data = batch(model, decoder_keep=16)
    with torch.no_grad():
        loss = model(**data, mode='loss')['loss']
        pred = model(**data, mode='tensor')
    assert pred.shape == (2, 16, PIX)
    pixels = data['inputs'][:, 0] * model.head.std + model.head.mean
    target = loop_target(pixels, norm_pix=True, patch=8).float()
    errors = []
    for i, sample in enumerate(data['data_samples']):
        kept = np.flatnonzero(~sample.decoder_mask)
        for m, token in enumerate(kept):
            if sample.mask[token]:
                errors.append((pred[i, m] - target[i, token]).pow(2).mean())
    assert 0 < len(errors) < 32
    torch.testing.assert_close(loss, torch.stack(errors).mean(), atol=1e-5,
                               rtol=1e-5)


def test_loss_decreases():
    model = build()
    data = raw_batch()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    losses = [model.train_step(data, optim)['loss'].item()
              for _ in range(8)]
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]


def test_checkpointing_and_eager_match():
    data = batch(build())
    grads = []
    for common in (dict(), dict(with_cp=True, attn_impl='eager')):
        model = build(**common).train()
        loss = model(**data, mode='loss')['loss']
        loss.backward()
        grads.append((loss.detach(), [p.grad for p in model.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5,
                               rtol=1e-5)
    for a, b in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('norm_pix', [True, False])
def test_predict_pixels(norm_pix):
    model = build(norm_pix=norm_pix).eval()
    data = batch(model, b=1)
    with torch.no_grad():
        pred = model(**data, mode='tensor')
        sample = model(**data, mode='predict')[0]
    out = sample.pred_pixels
    assert out.shape == (3, 4, 32, 32)
    assert 0 <= out.min() and out.max() <= 255
    assert sample.uses_original_patch_stats is norm_pix
    assert sample.mask.dtype == torch.bool and sample.mask.shape == (N, )
    original = data['inputs'][0, 0] * model.head.std[0] + model.head.mean[0]
    masked = np.flatnonzero(tube_masks(1, 4)[0])
    for token in range(N):
        t, h, w = token // 16, token // 4 % 4, token % 4
        cube = (slice(None), slice(2 * t, 2 * t + 2),
                slice(8 * h, 8 * h + 8), slice(8 * w, 8 * w + 8))
        if token not in masked:
            torch.testing.assert_close(out[cube], original[cube], atol=1e-3,
                                       rtol=0)
            continue
        values = pred[0, list(masked).index(token)].reshape(2, 8, 8, 3)
        if norm_pix:
            patch = original[cube].permute(1, 2, 3, 0).reshape(-1, 3) / 255.
            values = values * (patch.std(0) + 1e-6) + patch.mean(0)
            values = values * 255.
        else:
            values = values * 255.
        expected = values.permute(3, 0, 1, 2).clamp(0, 255)
        torch.testing.assert_close(out[cube], expected, atol=1e-3, rtol=0)


def test_predict_pixels_with_dual_masking():
    """V2: hidden tokens the decoder keeps get predictions, hidden tokens it
    drops are black (nothing was predicted), visible tokens keep the input
    even where the decoder predicted them."""
    model = build().eval()
    data = batch(model, b=2, decoder_keep=16)
    with torch.no_grad():
        samples = model(**data, mode='predict')
    video = data['inputs'][:, 0] * model.head.std + model.head.mean
    for i, sample in enumerate(samples):
        hidden = torch.from_numpy(tube_masks(2, 4)[i])
        dropped = torch.from_numpy(data['data_samples'][i].decoder_mask)
        assert torch.equal(sample.pred_token_mask, hidden & ~dropped)
        assert (hidden & ~dropped).any() and (hidden & dropped).any()
        for token in range(N):
            t, h, w = token // 16, token // 4 % 4, token % 4
            cube = (slice(None), slice(2 * t, 2 * t + 2),
                    slice(8 * h, 8 * h + 8), slice(8 * w, 8 * w + 8))
            out = sample.pred_pixels[cube]
            if not hidden[token]:
                torch.testing.assert_close(out, video[i][cube], atol=1e-3,
                                           rtol=0)
            elif dropped[token]:
                assert not out.any()


def test_bad_inputs():
    model = build()
    data = batch(model)
    with pytest.raises(ValueError, match='num_clips=1'):
        model(data['inputs'].repeat(1, 2, 1, 1, 1, 1), data['data_samples'],
              mode='loss')
    with pytest.raises(ValueError, match='mask'):
        model(data['inputs'], [ActionDataSample(), ActionDataSample()],
              mode='loss')
    with pytest.raises(ValueError, match='mode'):
        model(data['inputs'], data['data_samples'], mode='train')
    data['data_samples'][0].mask = data['data_samples'][0].mask.astype(int)
    with pytest.raises(ValueError, match='bool'):
        model(**data, mode='loss')


def test_runner_init_weights_keeps_weights():
    # mmengine's Runner calls init_weights(); weights set before must stay
    model = build()
    randomise(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_head_and_preprocessor_must_normalise_alike():
    """The head undoes the preprocessor's normalisation: other values
    would give a wrong pixel target and wrong pictures."""
    common = dict(
        type='VideoMAE',
        backbone=dict(type='VideoMAEViT', img_size=32, num_frames=4,
                      patch_size=8,
                      arch=dict(embed_dims=32, depth=1, num_heads=2)),
        neck=dict(type='VideoMAEDecoder', in_channels=32, embed_dims=16,
                  depth=1, num_heads=2, patch_size=8, num_tokens=N),
        head=dict(type='VideoMAEPretrainHead', patch_size=8))
    other = dict(type='ActionDataPreprocessor', mean=[127.5] * 3,
                 std=[127.5] * 3, format_shape='NCTHW')
    with pytest.raises(ValueError, match='must equal those the '
                       'data_preprocessor normalises with'):
        MODELS.build(dict(common, data_preprocessor=other))
    MODELS.build(dict(common, data_preprocessor=other, head=dict(
        common['head'], mean=[127.5] * 3, std=[127.5] * 3)))
    raw = dict(type='ActionDataPreprocessor', format_shape='NCTHW')
    with pytest.raises(ValueError, match=r'\[0.0, 0.0, 0.0\] / '
                       r'\[1.0, 1.0, 1.0\]'):
        MODELS.build(dict(common, data_preprocessor=raw))
