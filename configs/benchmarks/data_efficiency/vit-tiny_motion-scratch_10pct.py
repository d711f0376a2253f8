# Data-efficiency benchmark baseline: the same tiny ViT, data, augmentation
# and budget as vit-tiny_motion-finetune_10pct.py, but randomly initialised
# and without layer-wise lr decay (a trick for pretrained encoders that would
# only slow the lower blocks of a random one).
# Commands: tools/benchmarks/data_efficiency.sh, docs/data_efficiency.md.
_base_ = ['./vit-tiny_motion-finetune_10pct.py']

model = dict(backbone=dict(init_cfg=None))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=1.0))
