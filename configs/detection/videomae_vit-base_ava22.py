# VideoMAE ViT-B/16 on AVA v2.2, frame mAP@0.5 (reference: 26.7 from the
# K400-pretrained encoder, 31.8 from the K400-fine-tuned one). 8 GPUs x 8.
# Set `pretrained` to a VideoMAE checkpoint (pretrained or K400 fine-tuned:
# original, mmaction2, Hugging Face or mmvmae layout, or a work dir).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/ava_v22_rawframes.py',
    './_base_/videomae_vit-base_ava_detector.py', './_base_/ava_adamw_20e.py'
]
pretrained = 'checkpoints/videomae_vit-base_k400-finetune.pth'
model = dict(backbone=dict(
    init_cfg=dict(type='VideoMAEPretrained', checkpoint=pretrained)))
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
