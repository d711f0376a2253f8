# Data-efficiency benchmark baseline: the same tiny ViT, data, augmentation
# and budget as vit-tiny_motion-finetune_100pct.py, but randomly initialised
# and without layer-wise lr decay (a trick for pretrained encoders that would
# only slow the lower blocks of a random one).
#   python tools/train.py configs/benchmarks/data_efficiency/vit-tiny_motion-scratch_100pct.py \
#       --work-dir work_dirs/data_efficiency/scratch_100pct
_base_ = ['./vit-tiny_motion-finetune_100pct.py']

model = dict(backbone=dict(init_cfg=None))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=1.0))
