# The ViT-B K400 recipe with fp16 autocast and dynamic loss scaling (for GPUs
# without bf16; bf16 needs no scaling: see the _bf16 variant).
_base_ = './videomae_vit-base_k400-pretrain-800e.py'

optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
