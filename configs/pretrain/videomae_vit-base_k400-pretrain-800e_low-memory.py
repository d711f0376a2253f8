# The ViT-B K400 recipe with little memory per clip on one process at almost
# no extra time: lean activations (blocks keep the LayerNorm inputs and the
# MLP pre-activation only, recomputing LayerNorm and GELU in the backward
# pass) and the optimizer step inside the backward pass (each weight is
# updated, and its gradient freed, as soon as its gradient exists: the
# model's gradients never exist all at once). Same updates as the plain
# recipe. Single process only: DDP averages gradients after the in-backward
# step would have used them, so the wrapper refuses several processes (and
# gradient clipping / accumulation). Less memory still, for about 20% more
# time: `with_cp=True` in backbone and neck. Measured in docs/performance.md.
_base_ = './videomae_vit-base_k400-pretrain-800e.py'

model = dict(
    backbone=dict(lean_activations=True), neck=dict(lean_activations=True))
optim_wrapper = dict(type='StepInBackwardOptimWrapper')
