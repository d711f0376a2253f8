"""Optimizer wrappers that refuse a non-finite loss before it reaches the
weights."""
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.logging import MessageHub, print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmvmae.registry import OPTIM_WRAPPERS

NONFINITE_MODES = ('raise', 'skip')


class FiniteLossMixin:
    """Check the loss in ``update_params`` before ``backward``.

    ``nonfinite_loss='raise'`` (default) stops training with an error naming
    the iteration; ``'skip'`` drops the whole update (every accumulated
    micro-batch of it) and logs a warning. The check is agreed over all
    ranks (one ``all_reduce``), so every rank raises or skips together and
    DDP never waits for a rank that skipped its backward.
    """

    def _init_finite_check(self, nonfinite_loss: str) -> None:
        if nonfinite_loss not in NONFINITE_MODES:
            raise ValueError(
                f'optim_wrapper.nonfinite_loss must be one of '
                f'{NONFINITE_MODES}, got {nonfinite_loss!r}')
        self.nonfinite_loss = nonfinite_loss
        self.skipped_updates = 0
        self._discard_update = False

    @staticmethod
    def _where() -> str:
        hub = MessageHub.get_current_instance()
        it, epoch = hub.get_info('iter'), hub.get_info('epoch')
        where = f'iteration {it + 1}' if it is not None else 'this iteration'
        return where + (f' (epoch {epoch + 1})' if epoch is not None else '')

    # a host decision: under torch.compile a graph break, taken here
    # without dynamo's warning about tracing `.item()`
    @torch.compiler.disable
    def _all_finite(self, loss: torch.Tensor) -> bool:
        finite = torch.isfinite(loss.detach()).all().float().reshape(1)
        all_reduce(finite, op='min')  # a no-op without distributed training
        return bool(finite.item())

    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        if self._all_finite(loss):
            loss = self.scale_loss(loss)
            self.backward(loss)
        else:
            where = self._where()
            if self.nonfinite_loss == 'raise':
                raise FloatingPointError(
                    f'non-finite loss ({loss.item()}) at {where}: stopped '
                    'before the optimizer step, weights are untouched. Lower '
                    'the lr, enable clip_grad, or set '
                    "optim_wrapper.nonfinite_loss='skip' to drop such steps")
            self.skipped_updates += 1
            self._discard_update = True
            self._inner_count += 1  # keep accumulation boundaries in place
            print_log(f'non-finite loss ({loss.item()}) at {where}: update '
                      f'skipped ({self.skipped_updates} so far)',
                      logger='current', level=30)
        if self.should_update():
            if self._discard_update:
                self._discard_update = False
            else:
                self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))


@OPTIM_WRAPPERS.register_module()
class FiniteLossOptimWrapper(FiniteLossMixin, OptimWrapper):
    """:class:`OptimWrapper` with a non-finite loss check.

    Args:
        nonfinite_loss: 'raise' (default) or 'skip'.
        **kwargs: arguments of ``OptimWrapper`` (optimizer,
            accumulative_counts, clip_grad).
    """

    def __init__(self, *args, nonfinite_loss: str = 'raise',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_finite_check(nonfinite_loss)


@OPTIM_WRAPPERS.register_module()
class FiniteLossAmpOptimWrapper(FiniteLossMixin, AmpOptimWrapper):
    """:class:`AmpOptimWrapper` with a non-finite loss check (the check sees
    the unscaled loss; an overflow of the scaled gradients is still handled
    by the loss scaler).

    Args:
        nonfinite_loss: 'raise' (default) or 'skip'.
        **kwargs: arguments of ``AmpOptimWrapper``.
    """

    def __init__(self, *args, nonfinite_loss: str = 'raise',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_finite_check(nonfinite_loss)


# what ``use_finite_loss_wrappers`` maps a config's wrapper type to
FINITE_LOSS_WRAPPERS = {
    'OptimWrapper': 'FiniteLossOptimWrapper',
    'AmpOptimWrapper': 'FiniteLossAmpOptimWrapper',
}
# wrapper types that take ``nonfinite_loss`` (they check the loss)
CHECKING_WRAPPERS = {*FINITE_LOSS_WRAPPERS.values(),
                     'StepInBackwardOptimWrapper'}


def use_finite_loss_wrappers(optim_wrapper: Optional[dict]) -> None:
    """Swap ``OptimWrapper``/``AmpOptimWrapper`` (the default type) for their
    finite-loss versions in an ``optim_wrapper`` config, in place. Other
    types (``DeepSpeedOptimWrapper``, multi-optimizer dicts) are left as
    they are, but ``nonfinite_loss`` may then not be set."""
    if not optim_wrapper or 'optimizer' not in optim_wrapper:
        return
    kind = optim_wrapper.get('type', 'OptimWrapper')
    if kind in FINITE_LOSS_WRAPPERS:
        optim_wrapper['type'] = FINITE_LOSS_WRAPPERS[kind]
    elif 'nonfinite_loss' in optim_wrapper and \
            kind not in CHECKING_WRAPPERS:
        raise ValueError(
            f'optim_wrapper.nonfinite_loss works with the types '
            f'{sorted(FINITE_LOSS_WRAPPERS)} and StepInBackwardOptimWrapper, '
            f'got type {kind!r}')
