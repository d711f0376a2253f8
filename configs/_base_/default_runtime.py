default_scope = 'mmvmae'
custom_imports = dict(imports=['mmvmae'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # checkpoints and last_checkpoint written atomically (kill-safe resume)
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, save_last=True,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
# glibc keeps freed memory for reuse instead of page-faulting it in again:
# faster data workers (mmvmae/utils/malloc.py; tools/train.py and test.py)
keep_freed_memory = True

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False

# Every training sample draws its crops/masks from (seed, epoch, index) only,
# whatever the number of processes or workers, fresh each epoch, and replayed
# after a resume (docs/distributed.md). False: mmengine's per-worker seeding.
sample_seeding = True
