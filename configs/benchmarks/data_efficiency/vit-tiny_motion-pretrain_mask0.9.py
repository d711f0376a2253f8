# Mask-ratio ablation of the data-efficiency benchmark: as
# vit-tiny_motion-pretrain_mask0.75.py with tube masking 0.9.
_base_ = ['./vit-tiny_motion-pretrain_mask0.75.py']

mask_ratio = 0.9
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='MultiScaleCrop', input_size=32,
         scales=(1, 0.875, 0.75, 0.66), random_crop=False,
         max_wh_scale_gap=1, num_fixed_crops=13),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='TubeMasking', mask_ratio=mask_ratio, patch_size=8),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('mask', )),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
