# VideoMAE ViT-B/16 recognizer for fine-tuning: 16x224x224 clips, mean pooling
# + fc_norm in the backbone ('avg'), dropout + Linear head (trunc_normal 0.02
# x init_scale 0.001), label smoothing 0.1, MixUp 0.8 / CutMix 1.0 (one of the
# two per batch, each with probability 0.5), softmax-then-mean over views.
# Set num_classes in cls_head AND in both blending augments. Load a pretrained
# encoder with
#   model = dict(backbone=dict(init_cfg=dict(
#       type='VideoMAEPretrained', checkpoint='<.pth or work dir>')))
num_classes = 400
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='VideoMAEViT',
        arch='base',
        img_size=224,
        num_frames=16,
        tubelet_size=2,
        drop_path_rate=0.1,
        out_type='avg'),
    cls_head=dict(
        type='VideoMAEClsHead',
        num_classes=num_classes,
        in_channels=768,
        dropout_ratio=0.,
        init_scale=0.001,
        label_smooth_eps=0.1,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW',
        blending=dict(
            type='RandomBatchAugment',
            augments=[
                dict(type='MixupBlending', alpha=0.8, num_classes=num_classes),
                dict(type='CutmixBlending', alpha=1.0, num_classes=num_classes)
            ])))
