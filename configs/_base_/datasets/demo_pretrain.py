# Demo pretraining data: the generated demo videos (made at data_root on first
# use, no download; see mmvmae/datasets/demo_data.py), one 8x2 clip per video,
# multi-scale crop (13 fixed positions) resized to 64, tube masking 0.75
# (4x4 tokens per slot, 4 visible). Repeated sampling (decode once, several
# crops/masks, as VideoMAE V2):
#   train_dataloader = dict(
#       dataset=dict(type='RepeatedSamplingDataset', num_repeats=4,
#                    dataset=<the dataset below>),
#       collate_fn=dict(type='repeat_pseudo_collate'))
# and the model sees batch_size * num_repeats clips per step.
dataset_type = 'DemoVideoDataset'
data_root = 'data/demo'
ann_file_train = 'unlabeled.txt'
mask_ratio = 0.75

train_pipeline = [
    dict(type='DecordInit'),
    dict(
        type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1),
    dict(type='DecordDecode'),
    dict(
        type='MultiScaleCrop',
        input_size=64,
        scales=(1, 0.875, 0.75, 0.66),
        random_crop=False,
        max_wh_scale_gap=1,
        num_fixed_crops=13),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='TubeMasking', mask_ratio=mask_ratio),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('mask', )),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,  # so num_workers=0 also works
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,  # relative to the working directory
        ann_file=ann_file_train,
        pipeline=train_pipeline))
