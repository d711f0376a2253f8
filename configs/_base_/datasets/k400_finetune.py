# Kinetics-400 fine-tuning data (VideoMAE): dense 16x4 sampling, RandAugment
# (m7, n4, mstd 0.5, the same op on every frame), random resized crop (area
# 0.08-1, ratio 3/4-4/3) to 224, flip, random erasing 0.25 (per frame),
# repeated sampling (2 augmented copies per decoded clip). Val: one centre
# 16x4 view; test: 16x5x3 (5 clips x 3 crops of the short side resized to
# 224), softmax per view then mean (head average_clips='prob').
# mmaction2 layout, videos stored with the short side at 320.
dataset_type = 'VideoListDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'
ann_file_test = 'data/kinetics400/kinetics400_val_list_videos.txt'
clip_len, frame_interval, img_size = 16, 4, 224

train_pipeline = [
    dict(
        type='SafeVideoDecode',  # skip unreadable videos, logged
        transforms=[
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=clip_len,
                 frame_interval=frame_interval, num_clips=1),
            dict(type='DecordDecode'),
        ]),
    # RandAugment, then RandomResizedCrop (computing only what the crop keeps)
    dict(type='VideoRandAugment', magnitude=7, num_ops=4, magnitude_std=0.5,
         crop=dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
                   aspect_ratio_range=(3 / 4, 4 / 3))),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='VideoRandomErasing', erase_prob=0.25, per_frame=True),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=5, test_mode=True),
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
