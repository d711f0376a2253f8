"""Layer-wise lr decay groups and weight-decay exemptions."""
import pytest
import torch

from mmvmae.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS


def build_model(depth, **backbone):
    return MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='VideoMAEViT', out_type='avg', img_size=32,
                      num_frames=4, arch=dict(embed_dims=32, depth=depth,
                                              num_heads=2, patch_size=8),
                      **backbone),
        cls_head=dict(type='VideoMAEClsHead', num_classes=3, in_channels=32)))


def build_optimizer(model, **paramwise):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='LayerDecayOptimWrapperConstructor',
        optim_wrapper_cfg=dict(optimizer=dict(type='AdamW', lr=1e-3,
                                              weight_decay=0.05)),
        paramwise_cfg=dict(paramwise)))
    return constructor(model).optimizer


@pytest.mark.parametrize('rate', [0.75, 0.7])
def test_lr_scale_per_block(rate):
    depth = 3
    model = build_model(depth)
    optimizer = build_optimizer(model, layer_decay_rate=rate)
    lr = {}
    wd = {}
    for group in optimizer.param_groups:
        for name in group['param_names']:
            lr[name], wd[name] = group['lr'], group['weight_decay']
    names = [n for n, _ in model.named_parameters()]
    assert sorted(lr) == sorted(names)  # every parameter exactly once
    for name in names:
        if name.startswith('backbone.blocks.'):
            i = int(name.split('.')[2]) + 1  # 1-based layer index
        elif name.startswith('backbone.patch_embed'):
            i = 0
        else:  # fc_norm, head
            i = depth + 1
        assert lr[name] == pytest.approx(1e-3 * rate**(depth + 1 - i)), name
    assert lr['cls_head.fc_cls.weight'] == pytest.approx(1e-3)
    assert lr['backbone.blocks.0.attn.qkv.weight'] == pytest.approx(
        1e-3 * rate**depth)
    # no weight decay on biases, norms, q/v biases; decay on matrices
    for name, param in model.named_parameters():
        expected = 0. if param.ndim == 1 else 0.05
        assert wd[name] == expected, name
    assert wd['backbone.blocks.1.attn.q_bias'] == 0.
    # the same with every parameter flat 1-D, as FSDP hands them over
    flat = build_model(depth)
    for module in flat.modules():
        for name, param in list(module.named_parameters(recurse=False)):
            setattr(module, name,
                    torch.nn.Parameter(param.detach().flatten()))
    flat_wd = {name: group['weight_decay']
               for group in build_optimizer(flat, layer_decay_rate=rate)
               .param_groups for name in group['param_names']}
    assert flat_wd == wd


def test_layer_scale_has_no_weight_decay():
    """Layer scale (``gamma_1``/``gamma_2``, the V2 giant's) is exempt from
    weight decay, as biases and norms are."""
    model = build_model(2, layer_scale_init_value=0.1)
    wd = {name: group['weight_decay']
          for group in build_optimizer(model, layer_decay_rate=0.75)
          .param_groups for name in group['param_names']}
    gammas = [n for n in wd if n.rsplit('.', 1)[-1].startswith('gamma')]
    assert len(gammas) == 4 and all(wd[n] == 0. for n in gammas)
    assert wd['backbone.blocks.0.mlp.fc1.weight'] == 0.05


def test_bad_paramwise_cfg():
    with pytest.raises(ValueError, match='layer_decay_rate'):
        build_optimizer(build_model(1), decay_rate=0.75)
    with pytest.raises(ValueError, match='layer_decay_rate must be'):
        build_optimizer(build_model(1), layer_decay_rate=1.5)
    # fewer layers than blocks would scale the top blocks above 1
    with pytest.raises(ValueError, match='num_layers=2, but the model has '
                       r'backbone.blocks.3'):
        build_optimizer(build_model(4), layer_decay_rate=0.5, num_layers=2)
    # more layers than blocks (a partial model) is fine: scales stay <= 1
    optimizer = build_optimizer(build_model(2), layer_decay_rate=0.5,
                                num_layers=4)
    assert max(g['lr_scale'] for g in optimizer.param_groups) == 1


def test_one_step_uses_group_lrs():
    torch.manual_seed(0)
    model = build_model(2)
    optimizer = build_optimizer(model, layer_decay_rate=0.5)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x = torch.randn(2, 3, 4, 32, 32)
    model.cls_head(model.backbone(x)).sum().backward()
    optimizer.step()
    # Adam's first step moves each weight by about lr: compare magnitudes
    step = {n: (p.detach() - before[n]).abs().max().item()
            for n, p in model.named_parameters()}
    assert step['backbone.blocks.0.mlp.fc1.weight'] == pytest.approx(
        1e-3 * 0.5**2, rel=0.1)
    assert step['cls_head.fc_cls.weight'] == pytest.approx(1e-3, rel=0.1)
