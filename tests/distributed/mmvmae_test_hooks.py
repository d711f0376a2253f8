"""Hooks the distributed/resume tests load with ``custom_imports``."""
import os
import signal

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmvmae.registry import HOOKS


@HOOKS.register_module()
class DumpRankWeightsHook(Hook):
    """After training, every rank saves its weights to
    ``work_dir/rank{r}.pth``."""

    def after_train(self, runner) -> None:
        model = runner.model
        model = getattr(model, 'module', model)
        torch.save(model.state_dict(),
                   os.path.join(runner.work_dir, f'rank{get_rank()}.pth'))


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """SIGKILL this process after training iteration ``at`` (1-based)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), signal.SIGKILL)
