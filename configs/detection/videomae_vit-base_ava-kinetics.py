# VideoMAE ViT-B/16 on AVA-Kinetics (mmaction2
# reference: 33.6 frame mAP@0.5 from the K400-fine-tuned encoder).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/ava_kinetics_rawframes.py',
    './_base_/videomae_vit-base_ava_detector.py', './_base_/ava_adamw_20e.py'
]
pretrained = 'checkpoints/videomae_vit-base_k400-finetune.pth'
model = dict(backbone=dict(
    init_cfg=dict(type='VideoMAEPretrained', checkpoint=pretrained)))
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
