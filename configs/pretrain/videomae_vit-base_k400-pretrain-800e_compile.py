# The ViT-B K400 recipe with bf16 autocast, torch.compile of the train step
# (mmengine's `compile` setting; inductor by default) and selective
# activation checkpointing (keeps matmul/attention outputs, recomputes the
# cheap ops). The visible-token count is static, so the model compiles
# without data-dependent graph breaks. Needs
# torch._dynamo.config.trace_numpy = False (see docs/performance.md).
_base_ = './videomae_vit-base_k400-pretrain-800e_bf16.py'

model = dict(
    backbone=dict(with_cp='selective'), neck=dict(with_cp='selective'))
compile = True
