# VideoMAE ViT-B/16 AVA detector (mmaction2's recipe, without mmdet): feature
# map (B, 768, 8, H/16, W/16) -> temporal mean -> RoIAlign 8x8 (1/16,
# aligned, adaptive sampling) -> spatial max -> dropout 0.5 -> Linear(81),
# sigmoid + BCE. Train on ground-truth boxes and proposals with IoU >= 0.9;
# test on person proposals, class score = sigmoid (as mmaction2's BBoxHeadAVA).
# Load a (K400 fine-tuned or pretrained) encoder with the backbone init_cfg:
#   model = dict(backbone=dict(init_cfg=dict(
#       type='VideoMAEPretrained', checkpoint='<.pth or work dir>')))
model = dict(
    type='AVADetector',
    backbone=dict(
        type='VideoMAEViT',
        arch='base',
        img_size=224,
        num_frames=16,
        drop_path_rate=0.2,
        out_type='featmap'),
    roi_head=dict(
        type='RoIActionHead',
        in_channels=768,
        num_classes=81,
        roi_size=8,
        spatial_scale=1 / 16,
        sampling_ratio=0,
        dropout=0.5),
    size_divisor=16,
    train_cfg=dict(pos_iou_thr=0.9, max_rois=32),
    test_cfg=dict(multiply_proposal_score=False),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
