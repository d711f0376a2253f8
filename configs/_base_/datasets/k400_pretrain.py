# Kinetics-400 pretraining data (VideoMAE): one 16x4 clip per
# video, multi-scale crop (13 fixed positions) resized to 224, tube masking
# 0.9. Lists may hold "path" or "path label" lines (labels are ignored).
# Repeated sampling (VideoMAE V2: decode once, 4 crops/masks):
#   train_dataloader = dict(
#       dataset=dict(type='RepeatedSamplingDataset', num_repeats=4,
#                    dataset=<the dataset below>),
#       collate_fn=dict(type='repeat_pseudo_collate'))
# and the model sees batch_size * num_repeats clips per step.
dataset_type = 'VideoListDataset'
data_root = 'data/kinetics400/videos_train'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
mask_ratio = 0.9

train_pipeline = [
    dict(
        type='SafeVideoDecode',  # skip unreadable videos, logged
        transforms=[
            dict(type='DecordInit'),
            dict(
                type='SampleFrames', clip_len=16, frame_interval=4, num_clips=1),
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
    dict(type='TubeMasking', mask_ratio=mask_ratio),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('mask', )),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
