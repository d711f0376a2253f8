# Demo: VideoMAE pretraining of a tiny ViT on the embedded demo videos (made
# under data/demo on first use, no download). 8 frames of 64x64, tubelets
# 2x8x8 (4x8x8 = 256 tokens), tube masking 0.75, 160 steps: about 20 s on an
# idle 2-core CPU (a few minutes on a busy one).
# The demo reconstructs plain pixels (norm_pix=False). At this toy budget the
# normalised-pixel target of the real recipes hardly moves (measured here:
# 1.017 -> 0.993 over the 20 epochs) while the pixel loss falls from about
# 0.45 to 0.03, about what predicting each clip's mean colour scores: after
# so short a run the predictions are a nearly uniform grey
# (tools/visualize_reconstruction.py). Set model.head.norm_pix=True to see
# the recipe's target.
_base_ = [
    '../_base_/models/videomae_vit-base_pretrain.py',
    '../_base_/datasets/demo_pretrain.py',
    '../_base_/schedules/pretrain_adamw_cosine_800e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        _delete_=True,
        type='VideoMAEViT',
        arch=dict(embed_dims=96, depth=4, num_heads=4, mlp_ratio=4,
                  patch_size=8),
        img_size=64,
        num_frames=8,
        out_type='tokens',
        linear_init='xavier_uniform'),
    neck=dict(
        in_channels=96,
        embed_dims=64,
        depth=2,
        num_heads=4,
        patch_size=8,
        num_tokens=256),
    head=dict(patch_size=8, norm_pix=False))

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1),
    dict(type='DecordDecode'),
    dict(
        type='MultiScaleCrop',
        input_size=64,
        scales=(1, 0.875, 0.75, 0.66),
        random_crop=False,
        max_wh_scale_gap=1,
        num_fixed_crops=13),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='TubeMasking', mask_ratio=0.75, patch_size=8),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('mask', )),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# a small fixed lr instead of the per-256 scaling (batch 8 here)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(enable=False)

max_epochs = 20
warmup_epochs = 2
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-5, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(
    logger=dict(interval=4),
    checkpoint=dict(interval=5, max_keep_ckpts=2))
randomness = dict(seed=0)
