# ViT-Large pretraining with FSDP (mmengine FlexibleRunner + FSDPStrategy):
# parameters, gradients and optimizer states sharded over the GPUs, one FSDP
# unit per transformer block (blocks have > 1e7 parameters), bf16 compute with
# fp32 gradient reduction. Needs GPUs; see docs/distributed.md.
#   bash tools/dist_train.sh configs/pretrain/videomae_vit-large_k400-pretrain-800e_fsdp.py 8
_base_ = './videomae_vit-large_k400-pretrain-800e.py'

runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        auto_wrap_policy=dict(
            type='torch.distributed.fsdp.wrap.size_based_auto_wrap_policy',
            min_num_params=int(1e7)),
        mixed_precision=dict(
            param_dtype='bfloat16',
            reduce_dtype='float32',
            buffer_dtype='float32')),
    # checkpoints hold the full (unsharded) model, loadable anywhere
    state_dict_cfg='full')
