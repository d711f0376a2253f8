# ViT-Huge pretraining with DeepSpeed ZeRO-2 (mmengine FlexibleRunner +
# DeepSpeedStrategy): optimizer states and gradients sharded, bf16. Needs
# GPUs and the deepspeed package; see docs/distributed.md.
#   bash tools/dist_train.sh configs/pretrain/videomae_vit-huge_k400-pretrain-800e_deepspeed.py 8
_base_ = './videomae_vit-huge_k400-pretrain-800e.py'

runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    bf16=dict(enabled=True),
    zero_optimization=dict(
        stage=2,
        allgather_partitions=True,
        reduce_scatter=True,
        allgather_bucket_size=int(5e8),
        reduce_bucket_size=int(5e8),
        overlap_comm=True,
        contiguous_gradients=True),
    # accumulation is DeepSpeed's (not optim_wrapper.accumulative_counts);
    # auto_scale_lr counts it
    gradient_accumulation_steps=1)
# DeepSpeed steps the optimizer itself; same AdamW and decay rules
optim_wrapper = dict(type='DeepSpeedOptimWrapper')
