# VideoMAE V2 ViT-g/14 (1408 wide, 40 blocks) with dual masking, per-block
# activation checkpointing, gradient clipping at 0.02 and 4 repeated samples
# per decoded clip (each with its own crop and masks). 16x224 input gives
# 8x16x16 = 2048 tokens. The V2 paper pretrains on a 1.35M-clip hybrid set;
# point data_root/ann_file at your own list. For FSDP/DeepSpeed see
# configs/pretrain/*_fsdp.py / *_deepspeed.py where present.
_base_ = './videomaev2_vit-base_k400-pretrain-800e_dual-masking.py'

model = dict(
    backbone=dict(arch='giant', with_cp=True),
    neck=dict(
        in_channels=1408,
        embed_dims=512,
        depth=4,
        num_heads=8,
        patch_size=14,
        num_tokens=2048,
        with_cp=True),
    head=dict(patch_size=14))

optim_wrapper = dict(
    type='AmpOptimWrapper', dtype='bfloat16', clip_grad=dict(max_norm=0.02))

train_pipeline = [
    dict(
        type='SafeVideoDecode',  # skip unreadable videos, logged
        transforms=[
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=16, frame_interval=4, num_clips=1),
            dict(type='DecordDecode'),
        ]),
    dict(
        type='MultiScaleCrop',
        input_size=224,
        scales=(1, 0.875, 0.75, 0.66),
        random_crop=False,
        max_wh_scale_gap=1,
        num_fixed_crops=13),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='TubeMasking', mask_ratio=0.9, patch_size=14),
    dict(type='RunningCellMasking', mask_ratio=0.5, patch_size=14),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('mask', 'decoder_mask')),
]
# batch 8 per GPU x 4 repeats = 32 clips per GPU per step
train_dataloader = dict(
    batch_size=8,
    collate_fn=dict(type='repeat_pseudo_collate'),
    dataset=dict(
        _delete_=True,
        type='RepeatedSamplingDataset',
        num_repeats=4,
        dataset=dict(
            type='VideoListDataset',
            ann_file='data/kinetics400/kinetics400_train_list_videos.txt',
            data_prefix=dict(video='data/kinetics400/videos_train'),
            pipeline=train_pipeline)))
