# UCF101 (split 1) fine-tuning data with the VideoMAE K400 recipe (the
# pipelines, repeated sampling and 16x5x3 test of k400_finetune.py); only the
# paths differ. mmaction2 layout (data/ucf101).
_base_ = ['./k400_finetune.py']

data_root = 'data/ucf101/videos'
ann_file_train = 'data/ucf101/ucf101_train_split_1_videos.txt'
ann_file_val = 'data/ucf101/ucf101_val_split_1_videos.txt'

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            ann_file=ann_file_train, data_prefix=dict(video=data_root))))
val_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
