# AVA v2.2 read straight from the videos with decord (no frame extraction):
#   data/ava/videos_15min/<video_id>.{mp4,mkv,webm}  (mmaction2's 15-minute
#   cuts starting at second 900; for the original full videos set
#   timestamp_start=0 in both datasets)
# Same clips as the raw-frame version: 16 frames, stride 4 at 30 fps (the
# stride follows each video's own frame rate).
_base_ = ['./ava_v22_rawframes.py']

dataset_type = 'AVAVideoDataset'
video_root = 'data/ava/videos_15min'

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleAVAVideoFrames', clip_len=16, frame_interval=4),
    dict(type='DecordDecode'),
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=256),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackAVAInputs'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleAVAVideoFrames', clip_len=16, frame_interval=4,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackAVAInputs'),
]

train_dataloader = dict(dataset=dict(
    type=dataset_type, data_prefix=dict(_delete_=True, video=video_root),
    timestamp_start=900, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    type=dataset_type, data_prefix=dict(_delete_=True, video=video_root),
    timestamp_start=900, pipeline=val_pipeline))
test_dataloader = val_dataloader
