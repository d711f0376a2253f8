# VideoMAE ViT-B K400 pretraining for few GPUs: the recipe's 2048 clips per
# step from 8 GPUs x 32 clips x 8 accumulated steps. auto_scale_lr counts
# GPUs x batch_size x accumulative_counts (x num_repeats), so the lr is the
# recipe's 1.5e-4 x 2048 / 256 whatever the split; change
# accumulative_counts with the number of GPUs to keep 2048 (e.g. 4 GPUs: 16).
_base_ = './videomae_vit-base_k400-pretrain-800e.py'

optim_wrapper = dict(accumulative_counts=8)
