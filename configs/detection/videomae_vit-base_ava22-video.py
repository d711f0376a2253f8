# VideoMAE ViT-B/16 on AVA v2.2 with clips decoded straight from the videos
# (data/ava/videos_15min) instead of extracted frames.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/ava_v22_videos.py',
    './_base_/videomae_vit-base_ava_detector.py', './_base_/ava_adamw_20e.py'
]
pretrained = 'checkpoints/videomae_vit-base_k400-finetune.pth'
model = dict(backbone=dict(
    init_cfg=dict(type='VideoMAEPretrained', checkpoint=pretrained)))
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
