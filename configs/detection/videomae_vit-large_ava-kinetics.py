# VideoMAE ViT-L/16 on AVA-Kinetics (mmaction2
# reference: 38.7 frame mAP@0.5 from the K400-fine-tuned encoder).
# lr 2.5e-4, layer decay 0.8.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/ava_kinetics_rawframes.py',
    './_base_/videomae_vit-base_ava_detector.py', './_base_/ava_adamw_20e.py'
]
pretrained = 'checkpoints/videomae_vit-large_k400-finetune.pth'
model = dict(
    backbone=dict(
        arch='large',
        init_cfg=dict(type='VideoMAEPretrained', checkpoint=pretrained)),
    roi_head=dict(in_channels=1024))
optim_wrapper = dict(
    optimizer=dict(lr=2.5e-4), paramwise_cfg=dict(layer_decay_rate=0.8))
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
