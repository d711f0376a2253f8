# Data-efficiency benchmark: fine-tune the pretrained tiny ViT on 10% of the
# labels (train_10pct.txt: 240 clips, 40 per class). A tenth of the data gets
# 5x the epochs of the 100% run (100 vs 20), about half its optimisation
# steps (800 vs 1500).
# Commands: tools/benchmarks/data_efficiency.sh, docs/data_efficiency.md.
_base_ = ['./vit-tiny_motion-finetune_100pct.py']

max_epochs, warmup_epochs = 100, 10
train_dataloader = dict(dataset=dict(ann_file='train_10pct.txt'))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=25)
default_hooks = dict(
    logger=dict(interval=8), checkpoint=dict(interval=max_epochs))
