"""Classification head: init, soft labels + smoothing, multi-view average."""
import pytest
import torch
import torch.nn.functional as F
from mmaction.structures import ActionDataSample

from mmvmae.registry import MODELS


def build_head(**kwargs):
    cfg = dict(type='VideoMAEClsHead', num_classes=5, in_channels=64)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_init_scale():
    torch.manual_seed(0)
    head = build_head(in_channels=512, num_classes=400, init_scale=0.001)
    head.init_weights()
    w = head.fc_cls.weight
    # trunc_normal(std 0.02) truncates at +-2 (absolute, as timm): no effect
    assert w.std().item() == pytest.approx(0.02 * 0.001, rel=0.05)
    assert torch.count_nonzero(head.fc_cls.bias) == 0


def test_init_std_is_honoured():
    torch.manual_seed(0)
    head = build_head(in_channels=256, num_classes=200, init_std=0.1,
                      init_scale=1.)
    head.init_weights()
    # truncated at +-2 absolute (as timm): 20 std here, no effect
    assert head.fc_cls.weight.std().item() == pytest.approx(0.1, rel=0.05)


def test_dropout_drops_features_before_the_classifier():
    """Dropout on the pooled features: a dropped feature zeroes a column of
    the product, never a logit (the bias stays)."""
    torch.manual_seed(0)
    head = build_head(num_classes=3, in_channels=64,
                      dropout_ratio=0.5).train()
    with torch.no_grad():
        head.fc_cls.bias.fill_(1.)
        feats = torch.randn(8, 64)
        torch.manual_seed(1)
        logits = head(feats)
        torch.manual_seed(1)
        expected = head.fc_cls(torch.nn.functional.dropout(feats, 0.5))
    torch.testing.assert_close(logits, expected)
    assert (logits != 0).all()


def test_rejects_unpooled_features():
    with pytest.raises(ValueError, match="out_type='avg'"):
        build_head()(torch.randn(2, 10, 64))


def test_loss_with_soft_labels_and_label_smoothing():
    head = build_head(label_smooth_eps=0.1)
    feats = torch.randn(3, 64)
    soft = torch.softmax(torch.randn(3, 5), dim=1)  # as after MixUp
    samples = [ActionDataSample().set_gt_label(s) for s in soft]
    loss = head.loss(feats, samples)['loss_cls']
    target = 0.9 * soft + 0.1 / 5
    expected = -(target * F.log_softmax(head(feats), dim=1)).sum(1).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_multi_view_prob_average_by_hand():
    head = build_head(num_classes=3, in_channels=4, average_clips='prob')
    with torch.no_grad():
        head.fc_cls.weight.copy_(torch.eye(3, 4))
        head.fc_cls.bias.zero_()
    # 2 videos x 3 views
    logits = torch.tensor([[10., 0., 0.], [0., 4., 0.], [0., 4., 0.],
                           [0., 0., 2.], [1., 0., 0.], [0., 0., 1.]])
    feats = torch.cat([logits, torch.zeros(6, 1)], dim=1)
    samples = [ActionDataSample().set_gt_label(0) for _ in range(2)]
    out = head.predict(feats, samples)
    manual = [sum(torch.exp(v) / torch.exp(v).sum() for v in logits[i:i + 3])
              / 3 for i in (0, 3)]
    for sample, expected in zip(out, manual):
        assert torch.allclose(sample.pred_score, expected, atol=1e-6)
        assert sample.pred_label.item() == expected.argmax().item()
    # averaging logits would pick class 0 for video 0 (10/3 > 8/3), the
    # mean of probabilities picks class 1 (2 of 3 views)
    assert logits[:3].mean(0).argmax().item() == 0
    assert out[0].pred_label.item() == 1


def test_recognizer_multi_view_predict():
    """(B, V, C, T, H, W) -> per-view logits -> softmax mean per video."""
    model = MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='VideoMAEViT', out_type='avg', img_size=32,
                      num_frames=4, arch=dict(embed_dims=32, depth=1,
                                              num_heads=2, patch_size=8)),
        cls_head=dict(type='VideoMAEClsHead', num_classes=3, in_channels=32,
                      init_scale=1.),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               format_shape='NCTHW'))).eval()
    model.init_weights()
    x = torch.randn(2, 6, 3, 4, 32, 32)
    samples = [ActionDataSample().set_gt_label(1) for _ in range(2)]
    with torch.no_grad():
        out = model(x, samples, mode='predict')
        for b in range(2):
            views = model.cls_head(model.backbone(x[b]))
            expected = F.softmax(views, dim=1).mean(0)
            assert torch.allclose(out[b].pred_score, expected, atol=1e-6)
