"""StepInBackwardOptimWrapper: the same weights as the plain step, without
ever holding all gradients."""
import copy

import pytest
import torch
from mmengine.runner import Runner

from mmvmae.engine.optimizers import step_in_backward_optim_wrapper as sib
from mmvmae.registry import OPTIM_WRAPPERS
from .test_videomae import batch, build


def adamw_groups(model, lr=1e-2):
    """Two groups (decay / no decay), like the recipes' constructors."""
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
    return torch.optim.AdamW([dict(params=decay, weight_decay=0.05),
                              dict(params=rest, weight_decay=0.)],
                             lr=lr, betas=(0.9, 0.95))


def train(model, wrapper_type, steps=3, **kwargs):
    wrapper = OPTIM_WRAPPERS.build(dict(
        type=wrapper_type, optimizer=adamw_groups(model), **kwargs))
    for i in range(steps):
        for group in wrapper.optimizer.param_groups:  # as a scheduler does
            group['lr'] = 1e-2 / (i + 1)
        with wrapper.optim_context(model):
            loss = model(**batch(model, seed=i), mode='loss')['loss']
        wrapper.update_params(loss)
    return wrapper


def test_same_weights_as_the_plain_step():
    plain, fused = build().train(), build().train()
    frozen = 'backbone.blocks.0.norm1.weight'  # a weight without gradient
    for model in (plain, fused):
        dict(model.named_parameters())[frozen].requires_grad_(False)
    start = copy.deepcopy(fused.state_dict())
    train(plain, 'OptimWrapper')
    wrapper = train(fused, 'StepInBackwardOptimWrapper')
    moved = 0
    for name, value in fused.state_dict().items():
        torch.testing.assert_close(value, plain.state_dict()[name],
                                   atol=1e-6, rtol=1e-5, msg=name)
        moved += not torch.equal(value, start[name])
    assert moved > 20
    assert torch.equal(fused.state_dict()[frozen], start[frozen])
    assert all(p.grad is None for p in fused.parameters())
    # the optimizer state is the ordinary one: checkpoints interchange
    plain_state = OPTIM_WRAPPERS.build(dict(
        type='OptimWrapper', optimizer=adamw_groups(plain)))
    plain_state.load_state_dict(wrapper.state_dict())
    assert len(wrapper.optimizer.state) == sum(
        p.requires_grad for p in fused.parameters())


def test_resumed_wrapper_reads_the_loaded_groups():
    """``load_state_dict`` (a resume) replaces the optimizer's group dicts;
    the in-backward step must use the new ones, whose lr a scheduler sets."""
    weights = {}
    for wrapper_type in ('OptimWrapper', 'StepInBackwardOptimWrapper'):
        model = build().train()
        saved = train(model, wrapper_type, steps=1).state_dict()
        wrapper = OPTIM_WRAPPERS.build(dict(type=wrapper_type,
                                            optimizer=adamw_groups(model)))
        wrapper.load_state_dict(saved)
        for i in range(2):
            for group in wrapper.optimizer.param_groups:
                group['lr'] = 0.05 / (i + 1)
            with wrapper.optim_context(model):
                loss = model(**batch(model, seed=i + 1), mode='loss')['loss']
            wrapper.update_params(loss)
        weights[wrapper_type] = model.state_dict()
    for name, value in weights['StepInBackwardOptimWrapper'].items():
        torch.testing.assert_close(value, weights['OptimWrapper'][name],
                                   atol=1e-6, rtol=1e-5, msg=name)


def test_gradients_never_all_live():
    model = build().train()
    params = [p for p in model.parameters() if p.requires_grad]
    live, most = set(), [0]

    def count(param):  # runs before the wrapper's hook (registered first)
        live.add(param)
        most[0] = max(most[0], sum(p.grad is not None for p in live))

    for p in params:
        p.register_post_accumulate_grad_hook(count)
    train(model, 'StepInBackwardOptimWrapper', steps=1)
    assert len(live) == len(params)
    assert most[0] <= 2  # one at a time, not len(params)


def test_backward_outside_the_wrapper_leaves_weights_alone():
    model = build().train()
    OPTIM_WRAPPERS.build(dict(type='StepInBackwardOptimWrapper',
                              optimizer=adamw_groups(model)))
    start = copy.deepcopy(model.state_dict())
    model(**batch(model), mode='loss')['loss'].backward()
    assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items())
    assert model.backbone.patch_embed.proj.weight.grad is not None


def test_bf16_autocast():
    model = build().train()
    wrapper = OPTIM_WRAPPERS.build(dict(type='StepInBackwardOptimWrapper',
                                        optimizer=adamw_groups(model),
                                        dtype='bfloat16'))
    seen = []
    model.backbone.blocks[0].mlp.fc1.register_forward_hook(
        lambda m, i, out: seen.append(out.dtype))
    with wrapper.optim_context(model):
        loss = model(**batch(model), mode='loss')['loss']
    wrapper.update_params(loss)
    assert seen == [torch.bfloat16] and torch.isfinite(loss)


@pytest.mark.parametrize('kwargs,match', [
    (dict(accumulative_counts=2), 'accumulative_counts=2'),
    (dict(clip_grad=dict(max_norm=1.)), 'clip_grad'),
    (dict(clip_grad=dict(type='value', clip_value=1.)), 'clip_grad'),
    (dict(dtype='float16'), 'dtype'),
    (dict(nonfinite_loss='ignore'), 'nonfinite_loss'),
])
def test_refused_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OPTIM_WRAPPERS.build(dict(type='StepInBackwardOptimWrapper',
                                  optimizer=adamw_groups(build()), **kwargs))


def test_refused_with_several_processes(monkeypatch):
    monkeypatch.setattr(sib, 'get_world_size', lambda: 2)
    with pytest.raises(ValueError, match='2 processes'):
        OPTIM_WRAPPERS.build(dict(type='StepInBackwardOptimWrapper',
                                  optimizer=adamw_groups(build())))


def test_nonfinite_loss_stops_before_any_weight_changes():
    model = build().train()
    wrapper = OPTIM_WRAPPERS.build(dict(type='StepInBackwardOptimWrapper',
                                        optimizer=adamw_groups(model)))
    start = copy.deepcopy(model.state_dict())
    loss = model(**batch(model), mode='loss')['loss'] * float('inf')
    with pytest.raises(FloatingPointError, match='non-finite loss'):
        wrapper.update_params(loss)
    assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items())


class _Toy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 8),
                                       torch.nn.GELU(), torch.nn.Linear(8, 1))

    def train_step(self, data, optim_wrapper):
        with optim_wrapper.optim_context(self):
            x = torch.stack(data['inputs'])
            loss = (self.net(x).squeeze(-1) - x.sum(-1)).pow(2).mean()
        optim_wrapper.update_params(loss)
        return dict(loss=loss)


class _Data(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(inputs=torch.tensor([idx / 8., 1 - idx / 5.]))


def run_toy(work_dir, wrapper_type):
    runner = Runner(
        model=_Toy(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_Data(), batch_size=2,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(type=wrapper_type, optimizer=dict(
            type='AdamW', lr=0.05, weight_decay=0.05),
            paramwise_cfg=dict(bias_decay_mult=0.)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                              begin=0, end=4),
                         dict(type='CosineAnnealingLR', by_epoch=False,
                              begin=4, end=8, eta_min=1e-3)],
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1)),
        default_scope='mmvmae')
    runner.train()
    return runner.model.state_dict()


def test_runner_with_schedulers_and_param_groups(tmp_path):
    plain = run_toy(tmp_path / 'plain', 'FiniteLossOptimWrapper')
    fused = run_toy(tmp_path / 'fused', 'StepInBackwardOptimWrapper')
    assert (tmp_path / 'fused' / 'epoch_2.pth').exists()
    for name, value in fused.items():
        torch.testing.assert_close(value, plain[name], atol=1e-6, rtol=1e-5,
                                   msg=name)
    assert not torch.equal(fused['net.0.weight'], _Toy().state_dict()[
        'net.0.weight'])


def test_low_memory_config_builds_the_wrapper():
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    from mmvmae.engine.runner_setup import prepare_train_cfg
    path = Path(__file__).resolve().parents[2] / 'configs' / 'pretrain' / \
        'videomae_vit-base_k400-pretrain-800e_low-memory.py'
    cfg = prepare_train_cfg(Config.fromfile(path))
    assert cfg.model.backbone.with_cp is True
    assert cfg.model.neck.with_cp is True
    model = build().train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(wrapper, sib.StepInBackwardOptimWrapper)
    decay = {g['weight_decay'] for g in wrapper.optimizer.param_groups}
    assert decay == {0.0, 0.05}  # the recipe's no-decay groups survive
