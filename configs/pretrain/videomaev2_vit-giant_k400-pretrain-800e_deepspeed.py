# VideoMAE V2 ViT-g pretraining with DeepSpeed ZeRO-2 (mmengine
# FlexibleRunner + DeepSpeedStrategy): bf16, gradient clipping at norm 0.02
# over all shards (the V2 recipe), activation checkpointing of the base
# config. Needs GPUs and the deepspeed package; see docs/distributed.md.
#   bash tools/dist_train.sh configs/pretrain/videomaev2_vit-giant_k400-pretrain-800e_deepspeed.py 8
_base_ = './videomaev2_vit-giant_k400-pretrain-800e.py'

runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    bf16=dict(enabled=True),
    gradient_clipping=0.02,
    zero_optimization=dict(
        stage=2,
        allgather_partitions=True,
        reduce_scatter=True,
        allgather_bucket_size=int(5e8),
        reduce_bucket_size=int(5e8),
        overlap_comm=True,
        contiguous_gradients=True),
    gradient_accumulation_steps=1)
# DeepSpeed steps, clips and casts itself
optim_wrapper = dict(
    _delete_=True,
    type='DeepSpeedOptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg={{_base_.no_decay_paramwise_cfg}})
auto_scale_lr = dict(num_repeats=4)  # see the _fsdp config
