# VideoMAE V2 distilled ViT-B/16 (from ViT-g), fine-tuned on Kinetics-400: test
# only, 16x5x3 views (reported top-1 86.6). Convert the released checkpoint
# first (python tools/convert_checkpoint.py --help), then
#   python tools/test.py THIS_CONFIG CONVERTED.pth
_base_ = [
    '../_base_/models/videomae_vit-base_recognizer.py',
    '../_base_/datasets/k400_finetune.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.),
    cls_head=dict(in_channels=768),
    data_preprocessor=dict(blending=None))
test_cfg = dict(type='TestLoop')
train_dataloader = train_cfg = optim_wrapper = None
val_dataloader = val_cfg = val_evaluator = None
