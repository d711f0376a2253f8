"""AVADetector / RoIActionHead on tiny inputs, checked against a direct
recomputation from the backbone's feature map."""
import pytest
import torch
import torch.nn.functional as F
from mmaction.structures import ActionDataSample
from mmengine.structures import InstanceData

from mmvmae.models.detectors.roi_sampling import box_iou, sample_training_rois
from mmvmae.models.utils.roi_align import roi_align_pytorch
from mmvmae.registry import MODELS

NUM_CLASSES = 5


def _detector(dropout: float = 0.0, **test_cfg):
    return MODELS.build(dict(
        type='AVADetector',
        backbone=dict(type='VideoMAEViT',
                      arch=dict(embed_dims=32, depth=1, num_heads=2),
                      img_size=64, num_frames=4, out_type='featmap'),
        roi_head=dict(type='RoIActionHead', in_channels=32,
                      num_classes=NUM_CLASSES, dropout=dropout),
        train_cfg=dict(max_rois=0), test_cfg=test_cfg))


def _sample(gt, labels, proposals=None, scores=None, shape=(64, 64)):
    sample = ActionDataSample()
    sample.gt_instances = InstanceData(bboxes=torch.tensor(gt),
                                       labels=torch.tensor(labels))
    if proposals is not None:
        sample.proposals = InstanceData(bboxes=torch.tensor(proposals))
        if scores is not None:
            sample.proposals.scores = torch.tensor(scores)
    sample.set_metainfo(dict(img_shape=shape))
    return sample


def _manual_logits(model, inputs, rois):
    feat = model.backbone(inputs).mean(dim=2)
    pooled = roi_align_pytorch(feat, rois, 8, 1 / 16, 0, True)
    return model.roi_head.fc_cls(pooled.amax(dim=(2, 3)))


def test_box_iou_and_roi_sampling():
    gt = torch.tensor([[0., 0., 10., 10.], [20., 20., 40., 30.]])
    labels = torch.eye(2)
    proposals = torch.tensor([[0., 0., 10., 9.5],    # IoU 0.95 with gt 0
                              [0., 0., 10., 5.],     # IoU 0.5
                              [20., 20., 40., 29.]])  # IoU 0.9 with gt 1
    iou = box_iou(proposals, gt)
    torch.testing.assert_close(iou[:, 0], torch.tensor([0.95, 0.5, 0.]))
    torch.testing.assert_close(iou[2, 1], torch.tensor(180. / 200.))
    boxes, box_labels = sample_training_rois(gt, labels, proposals, 0.9, 0)
    torch.testing.assert_close(boxes, torch.cat([gt, proposals[[0, 2]]]))
    torch.testing.assert_close(box_labels, labels[[0, 1, 0, 1]])
    boxes, _ = sample_training_rois(gt, labels, proposals, 0.9, max_rois=3)
    assert boxes.shape == (3, 4)


def test_loss_matches_direct_computation():
    torch.manual_seed(0)
    model = _detector().train()
    inputs = torch.randn(2, 3, 4, 64, 64)
    lab = [[0, 1, 0, 1, 0], [0, 0, 1, 0, 0]]
    samples = [
        _sample([[4., 6., 40., 60.], [30., 2., 63., 30.]], lab,
                proposals=[[4., 6., 40., 59.], [0., 0., 10., 10.]]),
        _sample([[10., 10., 20., 24.]], [[0, 0, 0, 1, 1]]),
    ]
    losses = model(inputs, samples, mode='loss')
    # training boxes: gt of clip 0, its overlapping proposal, gt of clip 1
    rois = torch.tensor([[0, 4., 6., 40., 60.], [0, 30., 2., 63., 30.],
                         [0, 4., 6., 40., 59.], [1, 10., 10., 20., 24.]])
    targets = torch.tensor([lab[0], lab[1], lab[0], [0, 0, 0, 1, 1]]).float()
    probs = _manual_logits(model, inputs, rois).sigmoid()[:, 1:]
    expected = F.binary_cross_entropy(probs, targets[:, 1:])
    torch.testing.assert_close(losses['loss_action_cls'], expected)
    losses['loss_action_cls'].backward()
    assert model.roi_head.fc_cls.weight.grad.abs().sum() > 0
    assert model.backbone.patch_embed.proj.weight.grad.abs().sum() > 0


def test_boxes_without_actions_do_not_count():
    model = _detector()
    logits = torch.randn(3, NUM_CLASSES, requires_grad=True)
    labels = torch.tensor([[1., 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]])
    loss = model.roi_head.loss(logits, labels)['loss_action_cls']
    expected = F.binary_cross_entropy_with_logits(logits[1:2, 1:],
                                                  labels[1:2, 1:])
    torch.testing.assert_close(loss, expected)
    empty = model.roi_head.loss(logits, torch.zeros(3, NUM_CLASSES))
    assert empty['loss_action_cls'].item() == 0.0
    empty['loss_action_cls'].backward()  # still differentiable


def test_predict_scores_proposals_by_detection_score():
    torch.manual_seed(1)
    model = _detector(dropout=0.5, multiply_proposal_score=True).eval()
    inputs = torch.randn(1, 3, 4, 64, 96)
    proposals = [[0., 0., 48., 64.], [40., 8., 100., 70.]]  # 2nd: too big
    sample = _sample([[1., 1., 5., 5.]], [[0, 1, 0, 0, 0]], proposals,
                     scores=[0.5, 0.9], shape=(64, 96))
    with torch.no_grad():
        pred = model(inputs, [sample], mode='predict')[0].pred_instances
        rois = torch.cat([torch.zeros(2, 1), torch.tensor(proposals)], 1)
        probs = _manual_logits(model, inputs, rois).sigmoid()
    torch.testing.assert_close(pred.scores,
                               probs * torch.tensor([[0.5], [0.9]]))
    # the default, as mmaction2's BBoxHeadAVA: the sigmoid alone
    model.test_cfg['multiply_proposal_score'] = False
    with torch.no_grad():
        pred = model(inputs, [sample], mode='predict')[0].pred_instances
    torch.testing.assert_close(pred.scores, probs)
    assert _detector().test_cfg['multiply_proposal_score'] is False
    # normalised, and clipped to the frame (the AVA CSV's range)
    torch.testing.assert_close(pred.bboxes, torch.tensor(
        [[0., 0., 0.5, 1.], [40 / 96, 8 / 64, 1., 1.]]))
    # without proposals the ground-truth boxes are scored, no multiplier
    sample = _sample([[1., 1., 50., 40.]], [[0, 1, 0, 0, 0]], shape=(64, 96))
    with torch.no_grad():
        pred = model(inputs, [sample], mode='predict')[0].pred_instances
    assert pred.scores.shape == (1, NUM_CLASSES)
    assert ((pred.scores > 0) & (pred.scores < 1)).all()
    # an empty proposal set: one full-frame box (as mmaction2's dataset),
    # never the ground truth
    sample = _sample([[1., 1., 50., 40.]], [[0, 1, 0, 0, 0]],
                     torch.zeros(0, 4).tolist(), shape=(64, 96))
    sample.proposals.bboxes = sample.proposals.bboxes.reshape(0, 4)
    with torch.no_grad():
        pred = model(inputs, [sample], mode='predict')[0].pred_instances
    torch.testing.assert_close(pred.bboxes, torch.tensor([[0., 0., 1., 1.]]))


def test_bad_mode_and_missing_samples():
    model = _detector()
    inputs = torch.randn(1, 3, 4, 64, 64)
    assert model(inputs).shape == (1, 32, 2, 4, 4)
    with pytest.raises(ValueError, match='data_samples'):
        model(inputs, mode='loss')
    with pytest.raises(ValueError, match="'loss', 'predict' or 'tensor'"):
        model(inputs, [], mode='train')


def test_size_divisor_pads_odd_frames_bottom_right():
    torch.manual_seed(2)
    model = _detector().eval()
    model.size_divisor = 16
    inputs = torch.randn(1, 3, 4, 60, 90)  # like AVA's 256 x 341 test frames
    feat = model(inputs)
    assert feat.shape == (1, 32, 2, 4, 6)
    padded = torch.zeros(1, 3, 4, 64, 96)
    padded[..., :60, :90] = inputs
    model.size_divisor = None
    torch.testing.assert_close(feat, model(padded))


def test_builds_without_a_default_scope(monkeypatch):
    """As ``VideoMAE``: mmvmae's registry builds the detector and its
    mmaction2 preprocessor with no scope set (e.g. in a plain script)."""
    from mmengine.registry import DefaultScope
    monkeypatch.setattr(DefaultScope, '_instance_dict', {})
    assert DefaultScope.get_current_instance() is None
    model = _detector()
    assert type(model.data_preprocessor).__name__ == 'ActionDataPreprocessor'


def test_roi_scale_must_match_the_patch_size():
    with pytest.raises(ValueError, match='stride 8.*spatial_scale=1 / 8'):
        MODELS.build(dict(
            type='AVADetector',
            backbone=dict(type='VideoMAEViT', img_size=64, num_frames=4,
                          arch=dict(embed_dims=32, depth=1, num_heads=2,
                                    patch_size=8), out_type='featmap'),
            roi_head=dict(type='RoIActionHead', in_channels=32,
                          num_classes=NUM_CLASSES)))
