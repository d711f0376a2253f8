# videomae_vit-large_k400-finetune with bf16 autocast (needs a GPU with bf16:
# Ampere or newer).
_base_ = './videomae_vit-large_k400-finetune.py'
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
