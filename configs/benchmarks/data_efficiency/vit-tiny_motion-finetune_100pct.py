# Data-efficiency benchmark, stage 2: fine-tune the tiny ViT of
# vit-tiny_motion-pretrain_mask0.75.py on ALL labelled training clips (6
# motion classes), its encoder loaded from the pretraining work dir. The
# VideoMAE recipe at toy scale: AdamW, layer decay 0.75, drop path 0.1,
# label smoothing 0.1, random resized crop (area 0.7-1: a smaller one could
# lose the moving digit) and temporal jitter, no flip (it would swap
# move_left/move_right and the rotations). RandAugment, MixUp/CutMix and
# random erasing are left out: they are tuned for long runs of large models
# and slow down short ones (docs/data_efficiency.md).
# Test: 2 clips x 3 crops = 6 views, softmax then mean.
# Commands: tools/benchmarks/data_efficiency.sh, docs/data_efficiency.md.
_base_ = [
    '../../_base_/models/videomae_vit-base_recognizer.py',
    '../../finetune/_base_/videomae_finetune_schedule.py',
    '../../_base_/default_runtime.py'
]

data_root = 'data/motion_benchmark'
pretrained = 'work_dirs/data_efficiency/pretrain_mask0.75'
num_classes = 6
clip_len, frame_interval, img_size = 8, 1, 32
max_epochs, warmup_epochs = 20, 2

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=96, depth=4, num_heads=4,
                  mlp_ratio=4, patch_size=8),
        img_size=img_size,
        num_frames=clip_len,
        drop_path_rate=0.1,
        init_cfg=dict(type='VideoMAEPretrained', checkpoint=pretrained)),
    cls_head=dict(num_classes=num_classes, in_channels=96),
    data_preprocessor=dict(blending=None))

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomResizedCrop', area_range=(0.7, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3)),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, img_size)),
    dict(type='ThreeCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]


def _loader(ann_file, pipeline, batch_size, train=False):
    return dict(
        batch_size=batch_size,
        num_workers=1,
        persistent_workers=True,
        sampler=dict(type='DefaultSampler', shuffle=train),
        dataset=dict(type='VideoListDataset', data_root=data_root,
                     ann_file=ann_file, pipeline=pipeline,
                     test_mode=not train))


train_dataloader = _loader('train.txt', train_pipeline, 32, train=True)
val_dataloader = _loader('val.txt', val_pipeline, 32)
test_dataloader = _loader('test.txt', test_pipeline, 16)
val_evaluator = dict(type='AccMetric',
                     metric_list=('top_k_accuracy', 'mean_class_accuracy'),
                     metric_options=dict(top_k_accuracy=dict(topk=(1, 2))))
test_evaluator = val_evaluator

# a fixed lr for batch 32, no per-256 scaling
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(enable=False, base_batch_size=32)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=1, val_interval=5)
default_hooks = dict(
    logger=dict(interval=75),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
