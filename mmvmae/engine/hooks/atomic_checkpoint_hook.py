"""CheckpointHook whose checkpoints and ``last_checkpoint`` are written
atomically."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mmvmae.registry import HOOKS
from mmvmae.utils.atomic_write import atomic_write


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` that never leaves a truncated
    checkpoint or ``last_checkpoint`` behind.

    mmengine writes both in place, so a run killed while saving can leave a
    corrupt "latest" checkpoint that ``--resume auto`` then fails on. Here
    checkpoints go through the ``local_atomic`` file backend (temporary file
    in the same folder, fsync, ``os.replace``) and ``last_checkpoint`` is
    replaced only after its checkpoint is complete. Checkpoints outside the
    local file system (``backend_args`` set, or ``out_dir`` with a
    ``scheme://`` prefix) keep mmengine's behaviour. Takes every argument of
    ``CheckpointHook``.
    """

    def __init__(self, *args, backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        out_dir = kwargs.get('out_dir')
        local = out_dir is None or '://' not in str(out_dir)
        if backend_args is None and local and \
                kwargs.get('file_client_args') is None:
            backend_args = dict(backend='local_atomic')
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        # CheckpointHook's bookkeeping, but the oldest kept checkpoint is
        # removed only once the new one and last_checkpoint are written:
        # with max_keep_ckpts=1, a kill while saving would otherwise leave
        # no checkpoint at all
        old = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                old = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write(self.last_ckpt,
                     osp.join(runner.work_dir, 'last_checkpoint'))
        if old is not None and old != step:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # DeepSpeed folders
                self.file_backend.rmtree(path)
