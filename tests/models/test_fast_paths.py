"""Every fast path gives the results of the plain path."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from torch._dynamo.utils import counters

from mmvmae.models.utils import (PatchEmbed3d, count_kept, kept_index,
                                 scored_last, take_tokens)
from mmvmae.registry import MODELS
from mmvmae.utils.upstream_fixes import (fix_compile_data_preprocessor,
                                         fix_compile_numpy_fields)

from .test_videomae import batch, build, raw_batch

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def loss_and_grads(model, data):
    model.zero_grad(set_to_none=True)
    loss = model(**data, mode='loss')['loss']
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    return loss.detach(), grads


def assert_same(a, b, **tol):
    torch.testing.assert_close(a[0], b[0], **tol)
    assert a[1].keys() == b[1].keys() and len(a[1]) > 10
    for name in a[1]:
        torch.testing.assert_close(a[1][name], b[1][name], **tol, msg=name)


@pytest.mark.parametrize('dual', [False, True])
@pytest.mark.parametrize('option', [dict(attn_impl='eager'),
                                    dict(with_cp=True),
                                    dict(with_cp='selective'),
                                    dict(lean_activations=True),
                                    dict(lean_activations=True,
                                         with_cp='selective'),
                                    dict(lean_activations=True,
                                         with_cp=True)])
def test_options_match_plain_path(option, dual):
    keep = 16 if dual else None
    plain = build().train()
    data = batch(plain, decoder_keep=keep)
    fast = build(**option).train()
    fast.load_state_dict(plain.state_dict())
    assert_same(loss_and_grads(fast, data), loss_and_grads(plain, data),
                atol=1e-5, rtol=1e-4)


def test_bad_checkpoint_mode():
    with pytest.raises(ValueError, match='with_cp'):
        build(with_cp='some')


def test_kept_index_matches_boolean_indexing():
    gen = torch.Generator().manual_seed(0)
    select = torch.zeros(3, 40, dtype=torch.bool)
    for row in select:
        row[torch.randperm(40, generator=gen)[:11]] = True
    count = count_kept(select, 'tokens')
    expected = torch.arange(40).expand(3, 40)[select].reshape(3, -1)
    assert count == 11
    assert torch.equal(kept_index(select, count), expected)
    select[0, select[0].nonzero()[0]] = False
    with pytest.raises(ValueError, match='same number of tokens'):
        count_kept(select, 'tokens')


def test_scored_last_keeps_each_group_in_order():
    index = torch.tensor([[3, 5, 8, 9, 12], [1, 2, 4, 6, 7]])
    scored = torch.tensor([[1, 0, 1, 0, 0], [0, 1, 1, 1, 0]], dtype=torch.bool)
    index, scored = scored_last(index, scored)
    assert index.tolist() == [[5, 9, 12, 3, 8], [1, 7, 2, 4, 6]]
    assert scored.tolist() == [[False] * 3 + [True] * 2,
                               [False] * 2 + [True] * 3]


@pytest.mark.parametrize('option', [dict(), dict(with_cp=True),
                                    dict(lean_activations=True)])
def test_v2_loss_predicts_only_scored_tokens(option):
    """V2 'loss' mode runs the last decoder block and the head only on the
    tokens the loss counts: same predictions for them, same loss and
    gradients as predicting every decoder-kept token."""
    model = build(**option).train()
    data = batch(model, decoder_keep=16)
    samples = data['data_samples']
    mask = torch.from_numpy(np.stack([s.mask for s in samples]))
    dmask = torch.from_numpy(np.stack([s.decoder_mask for s in samples]))
    counts = (mask & ~dmask).sum(dim=1)
    assert counts.min() < counts.max() < 16  # padding rows are exercised
    video = data['inputs'][:, 0]
    vis = kept_index(~mask, count_kept(~mask, 'visible'))
    kept = kept_index(~dmask, 16)
    params = [p for p in model.parameters() if p.requires_grad]
    x_vis = model.backbone(video, visible_index=vis)
    full = model.neck(x_vis, mask, dmask, vis, kept)
    part = model.neck(x_vis, mask, dmask, vis, kept, int(counts.max()))
    assert full[0].shape[1] == 16 and part[0].shape[1] == counts.max()
    assert torch.equal(full[1], kept)  # without num_scored: ascending
    assert torch.equal(part[2].sum(dim=1), counts.float())
    for b in range(2):
        for row in part[2][b].nonzero()[:, 0]:
            where = (full[1][b] == part[1][b, row]).nonzero()[0, 0]
            assert full[2][b, where] == 1
            torch.testing.assert_close(part[0][b, row], full[0][b, where],
                                       atol=1e-5, rtol=1e-4)
    ref = model.head.loss(full[0], video, full[1], full[2])['loss']
    ref_grads = torch.autograd.grad(ref, params)
    loss = model(**data, mode='loss')['loss']  # passes num_scored itself
    grads = torch.autograd.grad(loss, params)
    torch.testing.assert_close(loss, ref, atol=1e-6, rtol=1e-5)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)
    with pytest.raises(ValueError, match='num_scored'):
        model.neck(x_vis, mask, dmask, vis, kept, 17)


def test_patch_embed_of_selected_tokens_equals_conv():
    torch.manual_seed(0)
    embed = PatchEmbed3d(3, 24, patch_size=8, tubelet_size=2)
    video = torch.randn(2, 3, 4, 32, 24)  # grid (2, 4, 3)
    index = torch.stack([torch.randperm(24)[:7].sort().values
                         for _ in range(2)])
    full, grid = embed(video)
    part, part_grid = embed(video, index)
    assert part_grid == grid == (2, 4, 3)
    torch.testing.assert_close(part, take_tokens(full, index), atol=1e-5,
                               rtol=1e-5)


def test_target_of_selected_tokens_equals_full_target():
    head = MODELS.build(dict(type='VideoMAEPretrainHead', patch_size=8))
    video = torch.randn(2, 3, 4, 32, 32)
    index = torch.stack([torch.randperm(32)[:20].sort().values
                         for _ in range(2)])
    full = head.construct_target(video)
    torch.testing.assert_close(head.construct_target(video, index),
                               take_tokens(full, index))
    # the per-token statistics, by the formula of VIDEOMAE.md
    patches = head.patch_pixels(video)
    std = patches.std(dim=2, unbiased=True, keepdim=True) + 1e-6
    expected = ((patches - patches.mean(dim=2, keepdim=True)) / std)
    torch.testing.assert_close(full, expected.flatten(2))


@pytest.mark.parametrize('decoder_keep', [None, 16])
def test_compiled_train_step_matches_eager(decoder_keep):
    """What mmengine's ``compile`` setting does: compile ``train_step``
    (dynamo capture with the 'eager' backend; inductor's code generation
    takes minutes on a 2-core CPU; the backward is traced with aot_eager
    below). V2: the number of scored tokens changes from step to step."""
    torch._dynamo.reset()
    eager, compiled = build().train(), build().train()
    compiled.load_state_dict(eager.state_dict())
    compiled.train_step = torch.compile(compiled.train_step,
                                        backend='eager')
    for model in (eager, compiled):
        # as the runner builds it from a config: AdamW with per-parameter
        # options, from a ConfigDict (which made the param groups
        # ConfigDicts, fatal to dynamo: see fix_config_dict_param_groups)
        wrapper = build_optim_wrapper(model, ConfigDict(
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
            paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.)))
        # dynamo's numpy tracing would treat the numpy masks in the data
        # samples as tensors in BaseDataElement.to: fixed as build_runner
        # does for configs with `compile` (with the eager preprocessor)
        with torch._dynamo.config.patch():
            fix_compile_numpy_fields()
            fix_compile_data_preprocessor()
            counters.clear()
            model.losses = [model.train_step(
                raw_batch(decoder_keep=decoder_keep, seed=s), wrapper)
                ['loss'] for s in range(3)]
    torch.testing.assert_close(torch.stack(compiled.losses),
                               torch.stack(eager.losses), atol=1e-5,
                               rtol=1e-4)
    assert compiled.losses[0] != compiled.losses[1]
    # the host decisions (mask counts) are outside the traced code, not
    # graph breaks inside it that dynamo warns about
    reasons = list(counters['graph_break'])
    assert any('VideoMAE._host_masks' in r for r in reasons)
    assert not any('item()' in r or 'TypeError' in r for r in reasons)


@pytest.mark.parametrize('lean', [False, True])
def test_model_compute_has_no_graph_break(lean):
    """With the token indices given, encoder, decoder and loss trace as one
    graph: the visible-token count is static."""
    torch._dynamo.reset()
    model = build(lean_activations=lean).train()
    data = batch(model)
    video = data['inputs'][:, 0]
    mask = torch.stack([torch.from_numpy(s.mask)
                        for s in data['data_samples']])
    n_vis = count_kept(~mask, 'visible tokens')
    vis, pred = kept_index(~mask, n_vis), kept_index(mask, 32 - n_vis)

    def step(video, mask, vis, pred):
        x = model.backbone(video, visible_index=vis)
        out = model.neck(x, mask, None, vis, pred)
        return model.head.loss(out[0], video, out[1], out[2])['loss']

    # fullgraph=True raises on any graph break
    compiled = torch.compile(step, backend='aot_eager', fullgraph=True)
    loss = compiled(video, mask, vis, pred)
    torch.testing.assert_close(loss, step(video, mask, vis, pred))
    loss.backward()  # the traced backward runs (lean: the custom backward)
    assert all(p.grad is not None for p in model.backbone.parameters())


def test_compiled_finetune_backbone_matches_eager():
    torch._dynamo.reset()
    backbone = MODELS.build(dict(
        type='VideoMAEViT', img_size=32, num_frames=4, patch_size=8,
        arch=dict(embed_dims=32, depth=2, num_heads=2), out_type='avg'))
    video = torch.randn(2, 3, 4, 32, 32)
    compiled = torch.compile(backbone, backend='aot_eager', fullgraph=True)
    out = compiled(video)
    out.sum().backward()
    torch.testing.assert_close(out, backbone(video))


def test_bf16_autocast_is_close():
    """What ``AmpOptimWrapper(dtype='bfloat16')`` wraps the forward in (the
    wrapper itself refuses to run on CPU)."""
    model = build().train()
    data = batch(model)
    ref = model(**data, mode='loss')['loss']
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = model(**data, mode='loss')['loss']
    assert loss.dtype == torch.float32  # the loss is computed in fp32
    torch.testing.assert_close(loss, ref, rtol=3e-2, atol=0)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize('name,wrapper', [
    ('pretrain/videomae_vit-base_k400-pretrain-800e_bf16.py',
     dict(type='AmpOptimWrapper', dtype='bfloat16')),
    ('pretrain/videomae_vit-base_k400-pretrain-800e_fp16.py',
     dict(type='AmpOptimWrapper', loss_scale='dynamic')),
])
def test_amp_configs(name, wrapper):
    cfg = Config.fromfile(CONFIGS / name)
    for key, value in wrapper.items():
        assert cfg.optim_wrapper[key] == value
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'


def test_lean_config_reaches_every_block():
    cfg = Config.fromfile(
        CONFIGS / 'pretrain/videomae_vit-base_k400-pretrain-800e_lean.py')
    cfg.model.backbone.arch = dict(embed_dims=32, depth=2, num_heads=2)
    cfg.model.neck.update(in_channels=32, embed_dims=16, num_heads=2)
    model = MODELS.build(cfg.model)
    blocks = [*model.backbone.blocks, *model.neck.blocks]
    assert len(blocks) == 2 + cfg.model.neck.get('depth', 4)
    assert all(block.lean_activations for block in blocks)


def test_compile_config():
    cfg = Config.fromfile(
        CONFIGS / 'pretrain/videomae_vit-base_k400-pretrain-800e_compile.py')
    assert cfg.compile and cfg.model.backbone.arch == 'base'


@pytest.mark.parametrize('qkv_bias', [True, False])
def test_inference_qkv_products_match_the_fused_one(qkv_bias):
    from mmvmae.models.utils.transformer_block import Attention
    torch.manual_seed(0)
    attn = Attention(32, 4, qkv_bias=qkv_bias).eval()
    if qkv_bias:  # non-zero biases, so a swapped or missing bias shows
        torch.nn.init.normal_(attn.q_bias)
        torch.nn.init.normal_(attn.v_bias)
    x = torch.randn(2, 10, 32)
    fused = attn(x)  # autograd on: one fused product
    with torch.no_grad():
        split = attn(x)  # three products
    torch.testing.assert_close(split, fused.detach(), atol=1e-6, rtol=1e-5)
    q, k, v = attn._qkv(x)
    with torch.no_grad():
        for a, b in zip(attn._qkv(x), (q, k, v)):
            assert a.is_contiguous() and not b.is_contiguous()
            torch.testing.assert_close(a, b.detach(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize('grad', [True, False])
@pytest.mark.parametrize('options', [dict(), dict(attn_impl='eager'),
                                     dict(lean_activations=True)])
def test_last_block_computes_only_the_predicted_rows(options, grad):
    """The decoder's last block returns the rows the head reads: equal to
    the full block's last rows, and the same gradients."""
    from mmvmae.models.utils import Block
    torch.manual_seed(0)
    block = Block(32, 4, layer_scale_init_value=0.5, **options).train()
    torch.nn.init.normal_(block.attn.q_bias)
    x = torch.randn(2, 10, 32, requires_grad=grad)
    results = []
    for last in (None, 7):
        block.zero_grad()
        with torch.set_grad_enabled(grad):
            out = block(x, last)
        assert out.shape == (2, 10 if last is None else 7, 32)
        out = out[:, -7:]
        if grad:
            out.square().sum().backward()
            results.append([out, x.grad.clone()] +
                           [p.grad.clone() for p in block.parameters()])
            x.grad = None
        else:
            results.append([out])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
