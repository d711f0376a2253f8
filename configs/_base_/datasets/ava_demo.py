# Demo AVA-style detection data: generated videos of moving shapes with person
# boxes, per-person actions (1 moves horizontally, 2 moves vertically, 3 is
# round), person proposals and the official CSV/pbtxt/pkl files, made at
# demo_root on first use (mmvmae/datasets/demo_ava.py; no download). Clips of
# 4 frames, stride 6 at the videos' 10 fps, read from the mp4 files; 64x96.
dataset_type = 'DemoAVADataset'
demo_root = 'data/ava_demo'  # relative to the working directory
anno_root = f'{demo_root}/annotations'
ann_file_train = f'{anno_root}/ava_train_demo.csv'
ann_file_val = f'{anno_root}/ava_val_demo.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_demo.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_demo.csv'
label_file = f'{anno_root}/ava_action_list_demo.pbtxt'
proposal_file_train = f'{anno_root}/ava_dense_proposals_train.demo.pkl'
proposal_file_val = f'{anno_root}/ava_dense_proposals_val.demo.pkl'
num_classes = 4  # background slot + 3 actions

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleAVAVideoFrames', clip_len=4, frame_interval=6,
         base_fps=10),
    dict(type='DecordDecode'),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackAVAInputs'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleAVAVideoFrames', clip_len=4, frame_interval=6,
         base_fps=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackAVAInputs'),
]

_common = dict(type=dataset_type, demo_root=demo_root, label_file=label_file,
               num_classes=num_classes,
               data_prefix=dict(video=f'{demo_root}/videos'))
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        ann_file=ann_file_train,
        exclude_file=exclude_file_train,
        proposal_file=proposal_file_train,
        pipeline=train_pipeline,
        **_common))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        ann_file=ann_file_val,
        exclude_file=exclude_file_val,
        proposal_file=proposal_file_val,
        person_det_score_thr=0.9,
        pipeline=val_pipeline,
        test_mode=True,
        **_common))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='AVAFrameMAP',
    ann_file=ann_file_val,
    exclude_file=exclude_file_val,
    label_file=label_file,
    num_classes=num_classes)
test_evaluator = val_evaluator
