# Spatio-temporal action detection demo: a tiny VideoMAE ViT trained from
# scratch on the generated AVA-style set, then frame mAP@0.5 on its val split.
# Runs on 2 CPU cores in a few minutes:
#   python tools/train.py configs/detection/videomae_vit-tiny_demo-ava.py
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/ava_demo.py']

model = dict(
    type='AVADetector',
    backbone=dict(
        type='VideoMAEViT',
        arch=dict(embed_dims=96, depth=3, num_heads=3),
        img_size=(64, 96),
        num_frames=4,
        drop_path_rate=0.1,
        out_type='featmap'),
    roi_head=dict(
        type='RoIActionHead',
        in_channels=96,
        num_classes={{_base_.num_classes}},
        roi_size=8,
        spatial_scale=1 / 16,
        dropout=0.5),
    train_cfg=dict(pos_iou_thr=0.9, max_rois=32),
    test_cfg=dict(multiply_proposal_score=False))

max_epochs = 20
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999),
                   weight_decay=0.05),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, eta_min=1e-5,
         by_epoch=True, begin=2, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_begin=1, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(interval=8),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
