# The ViT-B K400 recipe with bf16 autocast (no loss scaling needed).
_base_ = './videomae_vit-base_k400-pretrain-800e.py'

optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
