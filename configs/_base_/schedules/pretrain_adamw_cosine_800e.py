# VideoMAE pretraining schedule: AdamW (0.9, 0.95), wd 0.05, lr 1.5e-4 per 256
# clips (scaled to the real total batch by auto_scale_lr), 40 warm-up epochs,
# cosine to 1e-5; no weight decay on biases, norms, q/v biases, layer scale
# and the mask token.
max_epochs = 800
warmup_epochs = 40

# by name and module type, not by shape (flat_decay_mult): FSDP hands the
# optimizer flat 1-D shards of every weight
no_decay_paramwise_cfg = dict(
    norm_decay_mult=0.0,
    bias_decay_mult=0.0,
    custom_keys={
        key: dict(decay_mult=0.0)
        for key in ('q_bias', 'v_bias', 'gamma_1', 'gamma_2', 'mask_token')
    })
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=no_decay_paramwise_cfg)

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-5, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
test_cfg = None

# lr above is for a total batch of 256 clips; auto_scale_lr scales it to the
# real one: processes x batch_size x accumulative_counts x num_repeats (see
# docs/distributed.md; mmvmae fixes mmengine ignoring accumulation).
auto_scale_lr = dict(enable=True, base_batch_size=256)
