# Demo fine-tuning on the generated demo videos (4 motion classes; made at
# data/demo on first use): the tiny ViT of the demo pretraining config
# (96 wide, 4 blocks, 8x8 patches, 8 frames at 64x64), its encoder loaded from
# work_dirs/videomae_vit-tiny_demo-pretrain (run that config first), the full
# recipe at toy scale, a few minutes on 2 CPU cores. No flip: it would swap
# moving_left and moving_right. Test: 8x2x3 views on the val list.
# What it shows is the mechanics (encoder loading, the recipe's augmentations,
# repeated sampling, multi-view test, --dump), not accuracy: with 64 training
# videos and 40 steps, the top-1 stays at chance (0.25; measured, also with
# milder augmentation and 10 epochs). For a measurement of what pretraining
# buys, see docs/data_efficiency.md.
#   python tools/train.py configs/finetune/videomae_vit-tiny_demo-finetune.py
#   python tools/test.py configs/finetune/videomae_vit-tiny_demo-finetune.py \
#       work_dirs/videomae_vit-tiny_demo-finetune/epoch_5.pth --dump r.pkl
_base_ = [
    '../_base_/models/videomae_vit-base_recognizer.py',
    './_base_/videomae_finetune_schedule.py', '../_base_/default_runtime.py'
]

num_classes = 4
clip_len, frame_interval, img_size = 8, 2, 64
max_epochs, warmup_epochs = 5, 1

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=96, depth=4, num_heads=4,
                  mlp_ratio=4, patch_size=8),
        img_size=img_size,
        num_frames=clip_len,
        drop_path_rate=0.1,
        init_cfg=dict(
            type='VideoMAEPretrained',
            checkpoint='work_dirs/videomae_vit-tiny_demo-pretrain')),
    cls_head=dict(num_classes=num_classes, in_channels=96),
    data_preprocessor=dict(blending=dict(augments=[
        dict(type='MixupBlending', alpha=0.8, num_classes=num_classes),
        dict(type='CutmixBlending', alpha=1.0, num_classes=num_classes)
    ])))

dataset_type = 'DemoVideoDataset'
data_root = 'data/demo'
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='DecordDecode'),
    # RandAugment, then RandomResizedCrop (computing only what the crop keeps)
    dict(type='VideoRandAugment', magnitude=7, num_ops=4, magnitude_std=0.5,
         crop=dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
                   aspect_ratio_range=(3 / 4, 4 / 3))),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='VideoRandomErasing', erase_prob=0.25, per_frame=True),
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

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='repeat_pseudo_collate'),
    dataset=dict(
        type='RepeatedSamplingDataset',
        num_repeats=2,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file='train.txt',
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val.txt',
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val.txt',
        pipeline=test_pipeline,
        test_mode=True))
val_evaluator = dict(
    type='AccMetric',
    metric_list=('top_k_accuracy', 'mean_class_accuracy'),
    metric_options=dict(top_k_accuracy=dict(topk=(1, 3))))
test_evaluator = val_evaluator

# a fixed lr for the demo's batch of 8 videos (16 clips), no batch scaling
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(enable=False, base_batch_size=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='LayerScaledCosineAnnealingLR',
         T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(
    logger=dict(interval=4), checkpoint=dict(interval=1, max_keep_ckpts=1))
randomness = dict(seed=0)
