# VideoMAE ViT-Base pretraining on UCF101 from scratch (no extra data):
# tube masking 0.75, 3200 epochs (40 warm-up), lr 3e-4 per 256 clips.
_base_ = [
    '../_base_/models/videomae_vit-base_pretrain.py',
    '../_base_/datasets/ucf101_pretrain.py',
    '../_base_/schedules/pretrain_adamw_cosine_800e.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=3e-4))

max_epochs = 3200
warmup_epochs = 40
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-5, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=50, max_keep_ckpts=3))
