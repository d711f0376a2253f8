"""A non-finite loss stops training (or is skipped) before the optimizer
step, so it never reaches the weights."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

from mmvmae.engine.runner_setup import prepare_train_cfg
from mmvmae.registry import OPTIM_WRAPPERS
from .tests_paths import DEMO_CONFIG


def build(model, **kwargs):
    return OPTIM_WRAPPERS.build(dict(
        type='FiniteLossOptimWrapper',
        optimizer=torch.optim.AdamW(model.parameters(), lr=0.1), **kwargs))


def loss_of(model, poison=False):
    loss = model(torch.ones(2, 4)).pow(2).mean()
    return loss * float('nan') if poison else loss


def test_nan_loss_raises_naming_the_iteration_before_the_step():
    model = torch.nn.Linear(4, 3)
    before = copy.deepcopy(model.state_dict())
    wrapper = build(model)
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 6)
    hub.update_info('epoch', 1)
    with pytest.raises(FloatingPointError, match=r'iteration 7 \(epoch 2\)'):
        wrapper.update_params(loss_of(model, poison=True))
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def test_skip_mode_drops_the_update_then_trains_on():
    model = torch.nn.Linear(4, 3)
    before = copy.deepcopy(model.state_dict())
    wrapper = build(model, nonfinite_loss='skip')
    wrapper.update_params(loss_of(model, poison=True))
    assert wrapper.skipped_updates == 1
    assert all(torch.equal(v, before[k])
               for k, v in model.state_dict().items())
    assert all(p.grad is None or not p.grad.any()
               for p in model.parameters())
    wrapper.update_params(loss_of(model))  # a good step still updates
    assert not torch.equal(model.weight, before['weight'])


def test_skip_mode_drops_a_whole_accumulated_update():
    model = torch.nn.Linear(4, 3)
    before = copy.deepcopy(model.state_dict())
    wrapper = build(model, nonfinite_loss='skip', accumulative_counts=2)
    wrapper.initialize_count_status(model, 0, 4)
    wrapper.update_params(loss_of(model))  # good micro-batch
    wrapper.update_params(loss_of(model, poison=True))  # step boundary
    assert torch.equal(model.weight, before['weight'])
    grad = model.weight.grad  # nothing carried to the next step
    assert grad is None or not grad.any()
    wrapper.update_params(loss_of(model))
    wrapper.update_params(loss_of(model))
    assert not torch.equal(model.weight, before['weight'])


def test_finite_updates_equal_mmengines_wrapper():
    """With finite losses the wrapper is mmengine's ``OptimWrapper``:
    the same weights after accumulated updates (the loss scaled by
    1 / accumulative_counts)."""
    from mmengine.optim import OptimWrapper
    plain, checked = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    checked.load_state_dict(plain.state_dict())
    wrappers = [
        OptimWrapper(torch.optim.SGD(plain.parameters(), lr=0.1),
                     accumulative_counts=2),
        OPTIM_WRAPPERS.build(dict(
            type='FiniteLossOptimWrapper', accumulative_counts=2,
            optimizer=torch.optim.SGD(checked.parameters(), lr=0.1)))]
    for model, wrapper in zip((plain, checked), wrappers):
        wrapper.initialize_count_status(model, 0, 4)
        for step in range(4):
            wrapper.update_params(model(torch.full((2, 4), step + 1.))
                                  .pow(2).mean())
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(checked.state_dict()[key], value,
                                   rtol=0, atol=0)
    assert not torch.equal(plain.weight, torch.nn.Linear(4, 3).weight)


def test_another_ranks_nonfinite_loss_skips_here_too(monkeypatch):
    """The ranks agree through one all_reduce: a finite loss here is still
    skipped when another rank's was not (or DDP would wait forever for that
    rank's gradients)."""
    from mmvmae.engine.optimizers import finite_loss_optim_wrapper as module
    combine = dict(min=torch.minimum, max=torch.maximum,
                   sum=torch.add)

    def all_reduce_with_a_bad_rank(tensor, op='sum'):
        tensor.copy_(combine[op](tensor, torch.zeros_like(tensor)))

    monkeypatch.setattr(module, 'all_reduce', all_reduce_with_a_bad_rank)
    model = torch.nn.Linear(4, 3)
    before = copy.deepcopy(model.state_dict())
    wrapper = build(model, nonfinite_loss='skip')
    wrapper.update_params(loss_of(model))  # finite here
    assert wrapper.skipped_updates == 1
    assert torch.equal(model.weight, before['weight'])


def test_bad_mode_is_named():
    with pytest.raises(ValueError, match=r"nonfinite_loss.*\('raise', "):
        build(torch.nn.Linear(2, 2), nonfinite_loss='ignore')


def test_training_configs_get_the_checking_wrapper():
    cfg = prepare_train_cfg(Config.fromfile(DEMO_CONFIG))
    assert cfg.optim_wrapper.type == 'FiniteLossOptimWrapper'
    cfg = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper',
                                         optimizer=dict(type='SGD'))))
    assert prepare_train_cfg(cfg).optim_wrapper.type == \
        'FiniteLossAmpOptimWrapper'
    bad = Config(dict(optim_wrapper=dict(type='DeepSpeedOptimWrapper',
                                         nonfinite_loss='skip',
                                         optimizer=dict(type='SGD'))))
    with pytest.raises(ValueError, match='nonfinite_loss works with'):
        prepare_train_cfg(bad)
