# videomae_vit-base_ssv2-finetune with bf16 autocast (needs a GPU with bf16:
# Ampere or newer).
_base_ = './videomae_vit-base_ssv2-finetune.py'
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
