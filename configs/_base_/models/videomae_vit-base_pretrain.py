# VideoMAE ViT-B/16 pretraining model (16x224 input, 1568 tokens): encoder on
# the visible tokens, a 4-block 384-wide decoder, normalised-pixel loss.
# Linear weights start xavier_uniform, as the original pretraining model
# (its fine-tuning model, and ours, use trunc_normal(0.02)).
model = dict(
    type='VideoMAE',
    backbone=dict(
        type='VideoMAEViT',
        arch='base',
        img_size=224,
        num_frames=16,
        tubelet_size=2,
        drop_path_rate=0.0,
        out_type='tokens',
        linear_init='xavier_uniform'),
    neck=dict(
        type='VideoMAEDecoder',
        in_channels=768,
        embed_dims=384,
        depth=4,
        num_heads=6,
        patch_size=16,
        tubelet_size=2,
        num_tokens=1568,
        linear_init='xavier_uniform'),
    head=dict(
        type='VideoMAEPretrainHead',
        norm_pix=True,
        patch_size=16,
        tubelet_size=2),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
