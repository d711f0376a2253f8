# VideoMAE ViT-Large pretraining on Something-Something V2 (16x2 clips), tube masking 0.9,
# 2400 epochs (40 warm-up), total batch 2048 (64 GPUs x 32), lr 1.5e-4 per 256
# clips scaled by auto_scale_lr.
_base_ = [
    '../_base_/models/videomae_vit-base_pretrain.py',
    '../_base_/datasets/ssv2_pretrain.py',
    '../_base_/schedules/pretrain_adamw_cosine_800e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(arch='large'),
    neck=dict(in_channels=1024, embed_dims=512, depth=12, num_heads=8))

max_epochs = 2400
warmup_epochs = 40
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-5, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=20, max_keep_ckpts=3))
