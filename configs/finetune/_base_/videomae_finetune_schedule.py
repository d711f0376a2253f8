# VideoMAE fine-tuning schedule: AdamW (0.9, 0.999), wd 0.05 (none on biases,
# norms, tokens), lr 5e-4 per 256 videos scaled to the real total batch by
# auto_scale_lr, layer-wise lr decay 0.75, 5 warm-up epochs then cosine to
# 1e-6 x each layer's scale (LayerScaledCosineAnnealingLR). Configs that
# change max_epochs must restate param_scheduler.
max_epochs = 75
warmup_epochs = 5

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='LayerScaledCosineAnnealingLR',
         T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# lr above is for a total batch of 256 videos (each gives 2 repeated clips):
# num_repeats=1 counts videos, not the clips of RepeatedSamplingDataset
auto_scale_lr = dict(enable=True, base_batch_size=256, num_repeats=1)
