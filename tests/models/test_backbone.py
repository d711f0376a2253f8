import pytest
import torch

from mmvmae.models.backbones.videomae_vit import ARCH_SETTINGS, VideoMAEViT
from mmvmae.models.utils import interpolate_position_table

TINY = dict(arch=dict(embed_dims=32, depth=2, num_heads=2), patch_size=8,
            img_size=32, num_frames=4)  # token grid (2, 4, 4), N = 32


def tiny(**kwargs) -> VideoMAEViT:
    return VideoMAEViT(**dict(TINY, **kwargs)).eval()


def block_to_hf(ours: dict, src: str, dst: str) -> dict:
    """Our block ``src`` state dict entries as HF VideoMAE layer ``dst``."""
    qkv = ours[f'{src}.attn.qkv.weight'].chunk(3)
    out = {
        f'{dst}.attention.attention.query.weight': qkv[0],
        f'{dst}.attention.attention.key.weight': qkv[1],
        f'{dst}.attention.attention.value.weight': qkv[2],
        f'{dst}.attention.attention.query.bias': ours[f'{src}.attn.q_bias'],
        f'{dst}.attention.attention.value.bias': ours[f'{src}.attn.v_bias'],
    }
    names = dict(norm1='layernorm_before', norm2='layernorm_after',
                 **{'attn.proj': 'attention.output.dense',
                    'mlp.fc1': 'intermediate.dense',
                    'mlp.fc2': 'output.dense'})
    for a, b in names.items():
        for p in ('weight', 'bias'):
            out[f'{dst}.{b}.{p}'] = ours[f'{src}.{a}.{p}']
    return out


def encoder_to_hf(ours: dict, depth: int, prefix: str = '') -> dict:
    """A VideoMAEViT state dict in HF ``VideoMAEModel`` names."""
    out = {}
    for p in ('weight', 'bias'):
        out[f'{prefix}embeddings.patch_embeddings.projection.{p}'] = \
            ours[f'patch_embed.proj.{p}']
        out[f'{prefix}layernorm.{p}'] = ours[f'norm.{p}']
    for i in range(depth):
        out.update(block_to_hf(ours, f'blocks.{i}',
                               f'{prefix}encoder.layer.{i}'))
    return out


def randomise(module: torch.nn.Module) -> None:
    """Non-trivial values everywhere (biases and norms start at 0/1)."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2 + (p == 1))


def tube_mask(b: int, n: int, visible: int) -> torch.Tensor:
    mask = torch.ones(b, n, dtype=torch.bool)
    for i in range(b):
        mask[i, torch.randperm(n)[:visible]] = False
    return mask


def test_state_dict_names():
    model = tiny(layer_scale_init_value=0.1)
    keys = set(model.state_dict())
    expected = {'patch_embed.proj.weight', 'patch_embed.proj.bias',
                'norm.weight', 'norm.bias'}
    for i in range(2):
        expected |= {f'blocks.{i}.{k}' for k in (
            'norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.q_bias',
            'attn.v_bias', 'attn.proj.weight', 'attn.proj.bias',
            'norm2.weight', 'norm2.bias', 'mlp.fc1.weight', 'mlp.fc1.bias',
            'mlp.fc2.weight', 'mlp.fc2.bias', 'gamma_1', 'gamma_2')}
    assert keys == expected  # pos_embed is a non-persistent buffer
    assert model.pos_embed.shape == (1, 32, 32)
    avg = tiny(out_type='avg').state_dict()
    assert 'fc_norm.weight' in avg and 'norm.weight' not in avg


@pytest.mark.parametrize('use_mask', [False, True])
def test_matches_transformers(use_mask):
    transformers = pytest.importorskip('transformers')
    model = tiny()
    randomise(model)
    config = transformers.VideoMAEConfig(
        image_size=32, patch_size=8, num_frames=4, tubelet_size=2,
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, qkv_bias=True, use_mean_pooling=False,
        layer_norm_eps=1e-6, attn_implementation='eager')
    hf = transformers.VideoMAEModel(config).eval()
    missing = hf.load_state_dict(encoder_to_hf(model.state_dict(), 2),
                                 strict=False)
    assert not missing.unexpected_keys
    assert all('position' in k for k in missing.missing_keys)
    video = torch.randn(2, 3, 4, 32, 32)
    mask = tube_mask(2, 32, 8) if use_mask else None
    with torch.no_grad():
        ours = model(video, mask)
        ref = hf(video.transpose(1, 2), bool_masked_pos=mask)
    assert ours.shape == (2, 8 if use_mask else 32, 32)
    torch.testing.assert_close(ours, ref.last_hidden_state, atol=1e-5,
                               rtol=1e-5)


def test_out_types():
    video = torch.randn(2, 3, 4, 32, 32)
    tokens_model = tiny()
    randomise(tokens_model)
    with torch.no_grad():
        tokens = tokens_model(video)
        featmap_model = tiny(out_type='featmap')
        featmap_model.load_state_dict(tokens_model.state_dict())
        featmap = featmap_model(video)
    assert featmap.shape == (2, 32, 2, 4, 4)
    torch.testing.assert_close(featmap.flatten(2).transpose(1, 2), tokens)
    avg_model = tiny(out_type='avg')
    with torch.no_grad():
        assert avg_model(video).shape == (2, 32)
    with pytest.raises(ValueError, match='featmap'):
        featmap_model(video, tube_mask(2, 32, 8))


def test_eager_equals_sdpa():
    video = torch.randn(2, 3, 4, 32, 32)
    mask = tube_mask(2, 32, 12)
    sdpa, eager = tiny(attn_impl='sdpa'), tiny(attn_impl='eager')
    randomise(sdpa)
    eager.load_state_dict(sdpa.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(sdpa(video, mask), eager(video, mask),
                                   atol=1e-5, rtol=1e-5)


def test_checkpointing_gives_same_grads():
    video = torch.randn(2, 3, 4, 32, 32)
    plain, ckpt = tiny(), tiny(with_cp=True)
    randomise(plain)
    ckpt.load_state_dict(plain.state_dict())
    for model in (plain, ckpt):
        model.train()
        model(video).pow(2).mean().backward()
    for (name, a), b in zip(plain.named_parameters(), ckpt.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_interpolated_position_table():
    # fine-tune at 8 frames x 48 px from a table built for 4 x 32
    model = tiny(num_frames=8, img_size=48, pos_embed_size=(4, 32))
    randomise(model)
    table = model.position_table((4, 6, 6))
    expected = interpolate_position_table(model.pos_embed, (2, 4, 4),
                                          (4, 6, 6))
    torch.testing.assert_close(table, expected)
    assert model.position_table((4, 6, 6)) is table  # cached
    # same weights with a table built for the input grid, then overwritten
    native = tiny(num_frames=8, img_size=48)
    native.load_state_dict(model.state_dict())
    video = torch.randn(1, 3, 8, 48, 48)
    with torch.no_grad():
        out = model(video)
        # a table built directly for the grid is a different one
        assert not torch.allclose(out, native(video), atol=1e-3)
        native.pos_embed.copy_(expected)
        torch.testing.assert_close(out, native(video))


def test_unequal_visible_counts_rejected():
    mask = tube_mask(2, 32, 8)
    mask[1, mask[1].nonzero()[0]] = False
    with pytest.raises(ValueError, match='same number of visible'):
        tiny()(torch.randn(2, 3, 4, 32, 32), mask)
    with pytest.raises(ValueError, match='bool'):
        tiny()(torch.randn(2, 3, 4, 32, 32), torch.zeros(2, 32))


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='tiny'), 'arch'),
    (dict(arch=dict(embed_dims=32, depth=2)), 'num_heads'),
    (dict(num_frames=5), 'tubelet_size'),
    (dict(img_size=36), 'patch_size'),
    (dict(out_type='cls'), 'out_type'),
    (dict(attn_impl='flash'), 'attn_impl'),
    (dict(drop_path_rate=1.0), 'drop_path_rate'),
    (dict(pos_embed_size=(4, 30)), 'pos_embed_size'),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kwargs)


@pytest.mark.parametrize('arch', sorted(ARCH_SETTINGS))
def test_arch_presets(arch):
    with torch.device('meta'):  # shapes only, no memory
        model = VideoMAEViT(arch=arch)
    dims = dict(small=(384, 12, 6), base=(768, 12, 12), large=(1024, 24, 16),
                huge=(1280, 32, 16), giant=(1408, 40, 16))[arch]
    assert (model.embed_dims, model.num_layers,
            model.blocks[0].attn.num_heads) == dims
    patch = 14 if arch == 'giant' else 16
    assert model.patch_embed.proj.kernel_size == (2, patch, patch)
    hidden = 6144 if arch == 'giant' else 4 * dims[0]
    assert model.blocks[0].mlp.fc1.out_features == hidden


def test_init_and_layer_depth():
    model = VideoMAEViT(**dict(TINY, drop_path_rate=0.2))
    assert model.blocks[0].drop_path.__class__.__name__ == 'Identity'
    assert model.blocks[1].drop_path.drop_prob == pytest.approx(0.2)
    attn = model.blocks[0].attn
    assert torch.count_nonzero(attn.proj.bias) == 0
    assert 0.01 < attn.qkv.weight.std() < 0.03
    assert torch.equal(model.norm.weight, torch.ones(32))
    depth = model.get_layer_depth
    assert depth('backbone.patch_embed.proj.weight', 'backbone.') == (0, 4)
    assert depth('backbone.blocks.1.attn.qkv.weight', 'backbone.') == (2, 4)
    assert depth('backbone.norm.weight', 'backbone.') == (3, 4)
    assert depth('neck.head.weight', 'backbone.') == (3, 4)


def test_linear_init():
    """'xavier_uniform' (the pretraining configs, as the original
    pretraining model) or trunc_normal(0.02) (the default)."""
    from mmvmae.models.necks.videomae_decoder import VideoMAEDecoder
    arch = dict(embed_dims=64, depth=1, num_heads=2, patch_size=8)
    kwargs = dict(arch=arch, img_size=16, num_frames=2)
    plain = VideoMAEViT(**kwargs).blocks[0].attn.qkv.weight
    assert 0.018 < plain.std() < 0.022
    xavier = VideoMAEViT(linear_init='xavier_uniform',
                         **kwargs).blocks[0].attn.qkv.weight
    bound = (6 / sum(xavier.shape))**0.5  # 0.153 for (192, 64)
    assert 0.9 * bound < xavier.abs().max() <= bound
    decoder = VideoMAEDecoder(in_channels=64, embed_dims=32, depth=1,
                              num_heads=2, patch_size=8, num_tokens=4,
                              linear_init='xavier_uniform')
    fc1 = decoder.blocks[0].mlp.fc1.weight
    assert 0.9 * (6 / sum(fc1.shape))**0.5 < fc1.abs().max()
    # the original keeps PyTorch's default init for this projection
    proj = decoder.encoder_to_decoder.weight
    assert 0.9 / 8 < proj.abs().max() <= 1 / 8  # 1 / sqrt(fan_in 64)
    with pytest.raises(ValueError, match='linear_init must be one of'):
        VideoMAEViT(linear_init='kaiming', **kwargs)


@pytest.mark.parametrize('rate', ['drop_rate', 'attn_drop_rate'])
@pytest.mark.parametrize('attn_impl', ['sdpa', 'eager'])
def test_dropout_acts_in_training_only(rate, attn_impl):
    """Dropout (after the positions and projections, or on the attention
    weights) changes the training outputs from call to call; in eval mode,
    or at rate 0, the model is deterministic and the same function."""
    kwargs = dict(arch=dict(embed_dims=32, depth=2, num_heads=2,
                            patch_size=8), img_size=16, num_frames=4,
                  attn_impl=attn_impl)
    torch.manual_seed(0)
    plain = VideoMAEViT(**kwargs)
    dropped = VideoMAEViT(**kwargs, **{rate: 0.5})
    dropped.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 4, 16, 16)
    with torch.no_grad():
        reference = plain.train()(x)
        assert torch.equal(plain(x), reference)  # rate 0: no randomness
        first, second = dropped.train()(x), dropped(x)
        assert not torch.allclose(first, second)
        assert not torch.allclose(first, reference)
        torch.testing.assert_close(dropped.eval()(x), reference)


def test_options_reach_the_layers():
    """``qkv_bias=False`` learns no q/v bias; ``norm_eps`` reaches every
    LayerNorm, the final one too unless ``final_norm_eps`` says otherwise."""
    model = tiny(qkv_bias=False, norm_eps=1e-12)
    assert not [k for k in model.state_dict() if k.endswith(('q_bias',
                                                             'v_bias'))]
    assert {m.eps for m in model.modules()
            if isinstance(m, torch.nn.LayerNorm)} == {1e-12}
    pooled = tiny(out_type='avg', norm_eps=1e-12, final_norm_eps=1e-5)
    assert pooled.fc_norm.eps == 1e-5 and pooled.blocks[1].norm2.eps == 1e-12


def test_non_square_frames():
    """``img_size=(H, W)``: the token grid and position table are (T, H', W')
    in that order, the same function as a table built for the grid."""
    model = tiny(img_size=(32, 64))
    assert model.grid == (2, 4, 8)
    assert model.position_table((2, 4, 8)) is model.pos_embed
    randomise(model)
    wide = torch.randn(1, 3, 4, 32, 64)
    with torch.no_grad():
        assert model(wide).shape == (1, 64, 32)
    # a 32x32-table model, interpolated to 32x64, against a direct resize
    square = tiny(pos_embed_size=(4, 32), img_size=(32, 64))
    table = interpolate_position_table(square.pos_embed, (2, 4, 4), (2, 4, 8))
    torch.testing.assert_close(square.position_table((2, 4, 8)), table)


def test_masked_input_on_another_grid():
    """With a mask, the visible tokens get the interpolated table of the
    input grid: an all-visible mask gives the unmasked output."""
    model = tiny(num_frames=8, img_size=48, pos_embed_size=(4, 32))
    randomise(model)
    video = torch.randn(2, 3, 8, 48, 48)
    with torch.no_grad():
        plain = model(video)
        masked = model(video, torch.zeros(2, 4 * 6 * 6, dtype=torch.bool))
    torch.testing.assert_close(masked, plain)


def test_position_table_follows_dtype():
    """The cached interpolated table is per device and dtype: after
    ``.double()`` the model runs in float64 throughout."""
    model = tiny(num_frames=8, img_size=48, pos_embed_size=(4, 32))
    assert model.position_table((4, 6, 6)).dtype == torch.float32
    model.double()
    assert model.position_table((4, 6, 6)).dtype == torch.float64


def test_patch_embedding_init_is_xavier_of_the_flat_kernel():
    """As a Linear on the flattened tubelet (the original's init): the
    bound is sqrt(6 / (fan_in + fan_out)) of the (C, 3*2*8*8) matrix."""
    weight = tiny().patch_embed.proj.weight
    bound = (6 / (32 + 3 * 2 * 8 * 8))**0.5
    assert 0.9 * bound < weight.abs().max() <= bound
    assert not tiny().patch_embed.proj.bias.any()


@pytest.mark.parametrize('dtype', [torch.uint8, torch.int64, torch.float32])
def test_non_bool_token_masks_rejected(dtype):
    """A 0/1 mask of another dtype is refused with a clear error, not read
    as a bool one (``~`` of 0/1 integers is not the complement)."""
    from mmvmae.models.utils import count_kept
    mask = tube_mask(2, 32, 8)
    with pytest.raises(ValueError, match=r'\(B, N\) bool tensors, got '
                       + str(dtype)):
        count_kept(mask.to(dtype), 'visible tokens')
    with pytest.raises(ValueError, match=r'\(B, N\) bool tensors'):
        count_kept(mask[0], 'visible tokens')  # one sample, not a batch
    with pytest.raises(ValueError, match=r'mask must be a bool tensor of '
                       r'shape \(2, 32\), got ' + str(dtype)):
        tiny()(torch.randn(2, 3, 4, 32, 32), mask.to(dtype))
