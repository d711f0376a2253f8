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
