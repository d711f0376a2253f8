# VideoMAE ViT-Small pretraining on Kinetics-400 (16x4 clips), tube masking 0.9,
# 800 epochs (40 warm-up), total batch 2048 (64 GPUs x 32), lr 1.5e-4 per 256
# clips scaled by auto_scale_lr.
_base_ = [
    '../_base_/models/videomae_vit-base_pretrain.py',
    '../_base_/datasets/k400_pretrain.py',
    '../_base_/schedules/pretrain_adamw_cosine_800e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(arch='small'),
    neck=dict(in_channels=384, embed_dims=192, depth=4, num_heads=3))

# 800 epochs, 40 warm-up: the schedule base as it is.
default_hooks = dict(checkpoint=dict(interval=20, max_keep_ckpts=3))
