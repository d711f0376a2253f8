# VideoMAE V2 dual masking, ViT-B on Kinetics-400: tube masking 0.9 for the
# encoder and running-cell masking 0.5 for the decoder, which then processes
# 160 + 784 tokens instead of 1568 (the loss counts tokens masked for the
# encoder and kept by the decoder).
_base_ = './videomae_vit-base_k400-pretrain-800e.py'

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
    dict(type='TubeMasking', mask_ratio=0.9),
    dict(type='RunningCellMasking', mask_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('mask', 'decoder_mask')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
