"""Cosine annealing whose floor follows each group's layer-decay scale.

mmengine's ``CosineAnnealingLR(eta_min=1e-6)`` takes every parameter group
to the same floor. With layer-wise lr decay the lowest layers of a deep model
start below it (ViT-H: the patch embedding at 5e-4 x 0.75**33 = 4e-8), so
their lr would rise all through training. The BEiT/MAE/VideoMAE fine-tuning
recipe scales the whole schedule, floor included, by the group's scale: each
group ends at ``eta_min x lr_scale``.
"""
import math
from typing import Optional

from mmengine.optim import CosineAnnealingLR

from mmvmae.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class LayerScaledCosineAnnealingLR(CosineAnnealingLR):
    """``CosineAnnealingLR`` to ``eta_min x group['lr_scale']`` per group.

    ``lr_scale`` is what ``LayerDecayOptimWrapperConstructor`` stores in
    every group; a group without it gets ``eta_min`` (scale 1), exactly as
    ``CosineAnnealingLR``. Takes the same arguments, but ``eta_min`` only
    (``eta_min_ratio`` is already relative to each group).
    """

    def __init__(self, optimizer, *args, eta_min: float = 0.,
                 eta_min_ratio: Optional[float] = None, **kwargs):
        if eta_min_ratio is not None:
            raise ValueError('LayerScaledCosineAnnealingLR takes eta_min; '
                             'for a floor relative to each group use '
                             'CosineAnnealingLR(eta_min_ratio=...)')
        super().__init__(optimizer, *args, eta_min=eta_min, **kwargs)

    def _get_value(self) -> list:
        """mmengine's chainable cosine step, with a floor per group."""
        groups = self.optimizer.param_groups
        if self.last_step == 0:
            return [group[self.param_name] for group in groups]
        floors = [self.eta_min * group.get('lr_scale', 1.) for group in groups]
        if (self.last_step - 1 - self.T_max) % (2 * self.T_max) == 0:
            # the restart step of SGDR, as mmengine
            rise = (1 - math.cos(math.pi / self.T_max)) / 2
            return [
                group[self.param_name] + (base - floor) * rise
                for base, floor, group in zip(self.base_values, floors, groups)
            ]
        factor = ((1 + math.cos(math.pi * self.last_step / self.T_max)) /
                  (1 + math.cos(math.pi * (self.last_step - 1) / self.T_max)))
        return [
            factor * (group[self.param_name] - floor) + floor
            for floor, group in zip(floors, groups)
        ]
