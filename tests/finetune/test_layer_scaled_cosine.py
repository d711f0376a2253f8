"""The fine-tuning cosine ends each layer-decay group at eta_min x its scale."""
import math

import pytest
from mmengine.optim import CosineAnnealingLR, LinearLR

from mmvmae.registry import PARAM_SCHEDULERS
from tests.finetune.test_layer_decay import build_model, build_optimizer

BASE_LR, ETA_MIN, RATE, DEPTH = 1e-3, 1e-6, 0.3, 6
WARMUP, EPOCHS, ITERS = 2, 6, 5  # epochs, epochs, iterations per epoch


def schedule(cosine_type):
    """lr of every group at every iteration, warm-up then cosine."""
    optimizer = build_optimizer(build_model(DEPTH), layer_decay_rate=RATE)
    warmup = LinearLR.build_iter_from_epoch(
        optimizer, start_factor=1e-3, by_epoch=True, begin=0, end=WARMUP,
        epoch_length=ITERS)
    cosine = PARAM_SCHEDULERS.get(cosine_type).build_iter_from_epoch(
        optimizer, T_max=EPOCHS - WARMUP, eta_min=ETA_MIN, by_epoch=True,
        begin=WARMUP, end=EPOCHS, epoch_length=ITERS)
    lrs = []
    for _ in range(EPOCHS * ITERS):
        lrs.append([group['lr'] for group in optimizer.param_groups])
        optimizer.step()  # no gradients: changes nothing
        warmup.step()
        cosine.step()
    scales = [group['lr_scale'] for group in optimizer.param_groups]
    return lrs, scales


def recipe_lr(it, scale):
    """The BEiT/MAE/VideoMAE rule: the whole schedule times the scale."""
    t, length = it - WARMUP * ITERS, (EPOCHS - WARMUP) * ITERS
    cosine = ETA_MIN + (BASE_LR - ETA_MIN) * (1 + math.cos(math.pi * t /
                                                           length)) / 2
    return scale * cosine


def test_every_group_follows_the_scaled_cosine():
    lrs, scales = schedule('LayerScaledCosineAnnealingLR')
    # the lowest groups start below eta_min: the case that went wrong
    assert min(scales) * BASE_LR < ETA_MIN
    for it in range(WARMUP * ITERS, EPOCHS * ITERS):
        for lr, scale in zip(lrs[it], scales):
            assert lr == pytest.approx(recipe_lr(it, scale), rel=1e-6)
    for group in range(len(scales)):  # never rises after the warm-up
        cosine = [lrs[it][group] for it in range(WARMUP * ITERS,
                                                 EPOCHS * ITERS)]
        assert cosine == sorted(cosine, reverse=True)


def test_plain_cosine_raises_the_low_groups():
    """Why the configs do not use mmengine's CosineAnnealingLR."""
    lrs, scales = schedule('CosineAnnealingLR')
    lowest = scales.index(min(scales))
    assert lrs[-1][lowest] > lrs[WARMUP * ITERS][lowest]


def test_groups_without_scale_get_the_plain_floor():
    optimizer = build_optimizer(build_model(1), layer_decay_rate=0.5)
    for group in optimizer.param_groups:
        del group['lr_scale']
    # past T_max too, through mmengine's SGDR-style rise
    ours = PARAM_SCHEDULERS.build(dict(
        type='LayerScaledCosineAnnealingLR', optimizer=optimizer, T_max=4,
        eta_min=ETA_MIN, end=12))
    plain_optimizer = build_optimizer(build_model(1), layer_decay_rate=0.5)
    plain = CosineAnnealingLR(plain_optimizer, T_max=4, eta_min=ETA_MIN,
                              end=12)
    for _ in range(12):
        optimizer.step()
        plain_optimizer.step()
        ours.step()
        plain.step()
        assert ([g['lr'] for g in optimizer.param_groups] == pytest.approx(
            [g['lr'] for g in plain_optimizer.param_groups], rel=1e-9))


def test_refuses_eta_min_ratio():
    optimizer = build_optimizer(build_model(1), layer_decay_rate=0.5)
    with pytest.raises(ValueError, match='eta_min_ratio'):
        PARAM_SCHEDULERS.build(dict(type='LayerScaledCosineAnnealingLR',
                                    optimizer=optimizer, T_max=4,
                                    eta_min_ratio=1e-3))
