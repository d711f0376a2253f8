# The ViT-B K400 recipe with the least memory per clip on one process:
# selective activation checkpointing (keeps matmul/attention outputs,
# recomputes LayerNorm, GELU and residual adds) and the optimizer step inside
# the backward pass (each weight is updated, and its gradient freed, as soon
# as its gradient exists: the model's gradients never exist all at once).
# Same updates as the plain recipe. Single process only: DDP averages
# gradients after the in-backward step would have used them, so the wrapper
# refuses several processes (and gradient clipping / accumulation).
# Measured in docs/performance.md.
_base_ = './videomae_vit-base_k400-pretrain-800e.py'

model = dict(
    backbone=dict(with_cp='selective'), neck=dict(with_cp='selective'))
optim_wrapper = dict(type='StepInBackwardOptimWrapper')
