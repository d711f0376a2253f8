# AVA-Kinetics (AVA v2.2 + the Kinetics-700 clips annotated AVA-style) from
# raw frames in mmaction2's layout (tools/data/ava_kinetics of mmaction2):
#   data/ava_kinetics/rawframes/<video_id>/img_%05d.jpg
#   data/ava_kinetics/annotations/ava_{train,val}_v2.2.csv (merged), ...
# Validated on the AVA-Kinetics val annotations, as in mmaction2.
_base_ = ['./ava_v22_rawframes.py']

dataset_type = 'AVAKineticsDataset'
data_root = 'data/ava_kinetics/rawframes'
anno_root = 'data/ava_kinetics/annotations'
ann_file_train = f'{anno_root}/ava_train_v2.2.csv'
ann_file_val = f'{anno_root}/ava_val_v2.2.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_v2.2.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_v2.2.csv'
label_file = f'{anno_root}/ava_action_list_v2.2_for_activitynet_2019.pbtxt'
proposal_file_train = (f'{anno_root}/ava_dense_proposals_train.FAIR.'
                       'recall_93.9.pkl')
proposal_file_val = f'{anno_root}/ava_dense_proposals_val.FAIR.recall_93.9.pkl'

_files = dict(type=dataset_type, label_file=label_file,
              data_prefix=dict(img=data_root))
train_dataloader = dict(dataset=dict(
    ann_file=ann_file_train, exclude_file=exclude_file_train,
    proposal_file=proposal_file_train, **_files))
val_dataloader = dict(dataset=dict(
    ann_file=ann_file_val, exclude_file=exclude_file_val,
    proposal_file=proposal_file_val, **_files))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=ann_file_val, exclude_file=exclude_file_val,
                     label_file=label_file)
test_evaluator = val_evaluator
