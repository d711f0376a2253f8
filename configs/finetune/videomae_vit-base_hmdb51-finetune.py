# VideoMAE ViT-B/16 on HMDB51 split 1, 16x4 frames: 50 epochs (an assumption:
# VIDEOMAE.md gives no HMDB51 schedule), lr 1e-3 per 256, layer decay 0.7
# (small set), drop path 0.2.
# Pretrained encoder (a .pth, or the work dir of a pretraining run):
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (default below: the K400 pretraining run; the paper reports 73.3 top-1 on
# HMDB51 after K400 pretraining, 62.6 when pretrained on HMDB51 alone)
_base_ = [
    '../_base_/models/videomae_vit-base_recognizer.py',
    '../_base_/datasets/hmdb51_finetune.py',
    './_base_/videomae_finetune_schedule.py',
    '../_base_/default_runtime.py'
]

max_epochs, warmup_epochs = 50, 5
model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.2,
        init_cfg=dict(
            type='VideoMAEPretrained',
            checkpoint='work_dirs/videomae_vit-base_k400-pretrain-1600e')),
    cls_head=dict(num_classes=51, in_channels=768),
    data_preprocessor=dict(blending=dict(augments=[
        dict(type='MixupBlending', alpha=0.8, num_classes=51),
        dict(type='CutmixBlending', alpha=1.0, num_classes=51)
    ])))
optim_wrapper = dict(
    optimizer=dict(lr=0.001),
    paramwise_cfg=dict(layer_decay_rate=0.7))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='LayerScaledCosineAnnealingLR',
         T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
