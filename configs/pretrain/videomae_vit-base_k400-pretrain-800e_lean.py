# The ViT-B K400 recipe keeping about a third less activation memory, with
# the same results and no checkpointing: each block keeps the LayerNorm
# inputs but not their outputs, and the MLP's hidden pre-activation but not
# the GELU output (both recomputed in the backward pass: a few percent more
# time). Measured in docs/performance.md.
_base_ = './videomae_vit-base_k400-pretrain-800e.py'

model = dict(
    backbone=dict(lean_activations=True), neck=dict(lean_activations=True))
