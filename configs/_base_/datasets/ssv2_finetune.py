# Something-Something V2 fine-tuning data (VideoMAE): TSN-style uniform
# sampling of 16 segments (mmaction2 UniformSample), RandAugment (m7, n4,
# mstd 0.5, same op on every frame), random resized crop to 224, NO flip (the
# labels depend on left/right), random erasing 0.25 (per frame), repeated
# sampling 2. Val: one uniform view, centre crop; test: 16x2x3 (2 clips x 3
# crops), softmax per view then mean. mmaction2 layout (data/sthv2).
dataset_type = 'VideoListDataset'
data_root = 'data/sthv2/videos'
data_root_val = 'data/sthv2/videos'
ann_file_train = 'data/sthv2/sthv2_train_list_videos.txt'
ann_file_val = 'data/sthv2/sthv2_val_list_videos.txt'
ann_file_test = 'data/sthv2/sthv2_val_list_videos.txt'
clip_len, img_size = 16, 224

train_pipeline = [
    dict(
        type='SafeVideoDecode',  # skip unreadable videos, logged
        transforms=[
            dict(type='DecordInit'),
            dict(type='UniformSample', clip_len=clip_len, num_clips=1),
            dict(type='DecordDecode'),
        ]),
    # RandAugment, then RandomResizedCrop (computing only what the crop keeps)
    dict(type='VideoRandAugment', magnitude=7, num_ops=4, magnitude_std=0.5,
         crop=dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
                   aspect_ratio_range=(3 / 4, 4 / 3))),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='VideoRandomErasing', erase_prob=0.25, per_frame=True),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=clip_len, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=clip_len, num_clips=2,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, img_size)),
    dict(type='ThreeCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='repeat_pseudo_collate'),
    dataset=dict(
        type='RepeatedSamplingDataset',
        num_repeats=2,
        dataset=dict(
            type=dataset_type,
            ann_file=ann_file_train,
            data_prefix=dict(video=data_root),
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = dict(
    type='AccMetric', metric_list=('top_k_accuracy', 'mean_class_accuracy'))
test_evaluator = val_evaluator
