# VideoMAE ViT-S/16 on Something-Something V2, 16 uniform segments: 40 epochs,
# lr 1e-3 per 256, layer decay 0.75, drop path 0.1.
# Pretrained encoder (a .pth, or the work dir of a pretraining run):
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (default below: the work dir of the matching pretraining config)
_base_ = [
    '../_base_/models/videomae_vit-base_recognizer.py',
    '../_base_/datasets/ssv2_finetune.py',
    './_base_/videomae_finetune_schedule.py',
    '../_base_/default_runtime.py'
]

max_epochs, warmup_epochs = 40, 5
model = dict(
    backbone=dict(
        arch='small',
        drop_path_rate=0.1,
        init_cfg=dict(
            type='VideoMAEPretrained',
            checkpoint='work_dirs/videomae_vit-small_ssv2-pretrain-2400e')),
    cls_head=dict(num_classes=174, in_channels=384),
    data_preprocessor=dict(blending=dict(augments=[
        dict(type='MixupBlending', alpha=0.8, num_classes=174),
        dict(type='CutmixBlending', alpha=1.0, num_classes=174)
    ])))
optim_wrapper = dict(
    optimizer=dict(lr=0.001),
    paramwise_cfg=dict(layer_decay_rate=0.75))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='LayerScaledCosineAnnealingLR',
         T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
