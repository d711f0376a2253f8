# The ViT-B K400 recipe with the least memory per clip on one process (a
# fifth of the plain step's peak, for about 25% more time): full activation
# checkpointing (each block keeps only its input and runs again in the
# backward pass) and the optimizer step inside the backward pass (each
# weight is updated, and its gradient freed, as soon as its gradient exists:
# the model's gradients never exist all at once). The in-backward step pays
# off only with checkpointing: without it the peak is the activations at the
# end of the forward pass, before any gradient exists (for a third less
# memory at a few percent more time see the `_lean.py` config). Same updates
# as the plain recipe. Single process only: DDP averages gradients after the
# in-backward step would have used them, so the wrapper refuses several
# processes (and gradient clipping / accumulation). Measured in
# docs/performance.md.
_base_ = './videomae_vit-base_k400-pretrain-800e.py'

model = dict(backbone=dict(with_cp=True), neck=dict(with_cp=True))
optim_wrapper = dict(type='StepInBackwardOptimWrapper')
