"""An optimizer wrapper that updates each parameter inside the backward pass.

The plain step keeps every gradient until the backward pass ends, then
updates all weights: at that moment the gradients (as large as the weights)
are live next to the weights and the optimizer moments. Here each parameter
is updated by the optimizer as soon as its gradient is complete (a
``post_accumulate_grad_hook``) and the gradient is freed right away, so the
gradients of the whole model never exist at once. For element-wise
optimizers (AdamW, SGD, ...) the result is the same update as the plain
step.

What cannot work that way, and is refused with an error: gradient clipping
by the global norm (it needs every gradient first), gradient accumulation,
fp16 loss scaling, and distributed data parallel (the hook fires before the
gradients are averaged over ranks).
"""
from contextlib import contextmanager
from typing import Dict, Optional

import torch
from mmengine.device import get_device
from mmengine.dist import get_world_size
from mmengine.optim import OptimWrapper
from torch.optim import Optimizer

from mmvmae.registry import OPTIM_WRAPPERS
from .finite_loss_optim_wrapper import FiniteLossMixin

_DTYPES = {None: None, 'bfloat16': torch.bfloat16}


@OPTIM_WRAPPERS.register_module()
class StepInBackwardOptimWrapper(FiniteLossMixin, OptimWrapper):
    """Per-parameter optimizer steps during ``backward``; gradients freed at
    once.

    The wrapped optimizer keeps its parameter groups, hyper-parameters
    (schedulers change them as usual) and state, so checkpoints are the same
    as with :class:`OptimWrapper` and resume across the two.

    Args:
        optimizer (Optimizer): The optimizer (element-wise update rule).
        dtype (str, optional): ``'bfloat16'`` runs the forward under autocast
            (no loss scaling needed); None (default) runs fp32.
        nonfinite_loss (str): 'raise' (default) or 'skip': the loss is checked
            before the backward pass, which here also updates the weights.
        accumulative_counts (int): Must be 1.
        clip_grad (dict, optional): Must be None.
    """

    def __init__(self,
                 optimizer: Optimizer,
                 dtype: Optional[str] = None,
                 nonfinite_loss: str = 'raise',
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None) -> None:
        refused = []
        if accumulative_counts != 1:
            refused.append(f'accumulative_counts={accumulative_counts}')
        if clip_grad:
            refused.append(f'clip_grad={clip_grad}')
        if get_world_size() > 1:
            refused.append(f'{get_world_size()} processes (DDP averages '
                           'gradients after this wrapper would have used them)')
        if refused:
            raise ValueError(
                'StepInBackwardOptimWrapper updates each weight as soon as its '
                'gradient exists, so it cannot run with ' +
                ', '.join(refused) + '. Use OptimWrapper (or '
                "with_cp='selective' / with_cp=True to save memory) instead")
        if dtype not in _DTYPES:
            raise ValueError('StepInBackwardOptimWrapper.dtype must be one of '
                             f'{list(_DTYPES)}, got {dtype!r} (fp16 needs '
                             'loss scaling, which needs all gradients first)')
        super().__init__(optimizer)
        self._init_finite_check(nonfinite_loss)
        self.dtype = _DTYPES[dtype]
        self._active = False
        # the group's position, not the dict: load_state_dict (resume) and
        # fix_config_dict_param_groups replace the group dicts
        self._group_of: Dict[torch.Tensor, int] = {}
        for index, group in enumerate(optimizer.param_groups):
            for param in group['params']:
                if param.requires_grad and param not in self._group_of:
                    self._group_of[param] = index
                    param.register_post_accumulate_grad_hook(self._update)

    def _update(self, param: torch.Tensor) -> None:
        """Step the optimizer on ``param`` alone, with its group's current
        hyper-parameters, then free its gradient."""
        if not self._active:  # a backward outside this wrapper
            return
        groups = self.optimizer.param_groups
        self.optimizer.param_groups = [
            dict(groups[self._group_of[param]], params=[param])]
        try:
            self.optimizer.step()
        finally:
            self.optimizer.param_groups = groups
        param.grad = None

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Back-propagate ``loss``, updating every weight on the way."""
        self._active = True
        try:
            loss.backward(**kwargs)
        finally:
            self._active = False
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        """Nothing left to do: the weights were updated in ``backward``."""

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model):
            if self.dtype is None:
                yield
            else:
                with torch.autocast(device_type=get_device(),
                                    dtype=self.dtype):
                    yield
