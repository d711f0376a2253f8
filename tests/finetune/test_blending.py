"""MixUp/CutMix on 6-D video batches (B, 1, C, T, H, W): mmaction2's
CutmixBlending must cut only H and W, with the same box on every frame."""
import pytest
import torch
from mmaction.structures import ActionDataSample

from mmvmae.registry import MODELS


@pytest.mark.parametrize('seed', range(5))
def test_cutmix_cuts_only_h_w_same_box_on_all_frames(seed):
    torch.manual_seed(seed)
    b, c, t, h, w = 4, 3, 6, 20, 24
    # every sample constant and distinct: 0, 1, 2, 3
    imgs = torch.arange(b, dtype=torch.float32).view(b, 1, 1, 1, 1, 1)
    imgs = imgs.expand(b, 1, c, t, h, w).clone()
    samples = [ActionDataSample().set_gt_label(i) for i in range(b)]
    blend = MODELS.build(dict(type='CutmixBlending', num_classes=b,
                              alpha=1.0))
    mixed, samples = blend(imgs.clone(), samples)
    assert mixed.shape == imgs.shape
    changed = mixed != imgs  # (B, 1, C, T, H, W)
    for i in range(b):
        ref = changed[i, 0, 0, 0]  # (H, W) of the first channel and frame
        # the same cut on every channel and frame
        assert torch.equal(changed[i, 0], ref.expand(c, t, h, w))
        if ref.any():
            rows = ref.any(1).nonzero().flatten()
            cols = ref.any(0).nonzero().flatten()
            box = ref[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
            assert box.all() and ref.sum() == box.numel()  # a rectangle
            partner = mixed[i, 0, 0, 0][ref].unique()
            assert partner.numel() == 1 and partner.item() != i
        # soft label: own class weighted by the kept area
        kept = 1 - ref.float().mean()
        label = samples[i].gt_label
        assert label.shape == (b, ) and label.sum() == pytest.approx(1.)
        if ref.any():
            assert label[i] == pytest.approx(kept.item(), abs=1e-6)
            partner_cls = int(mixed[i, 0, 0, 0][ref][0].item())
            assert label[partner_cls] == pytest.approx(1 - kept.item(),
                                                       abs=1e-6)


def test_mixup_cutmix_switch_in_the_data_preprocessor():
    """The recipe's preprocessor: one of MixUp 0.8 / CutMix 1.0 per batch,
    soft labels out, only in training."""
    torch.manual_seed(0)
    pre = MODELS.build(dict(
        type='ActionDataPreprocessor', format_shape='NCTHW',
        blending=dict(type='RandomBatchAugment', augments=[
            dict(type='MixupBlending', alpha=0.8, num_classes=3),
            dict(type='CutmixBlending', alpha=1.0, num_classes=3)])))
    inputs = [torch.full((1, 3, 4, 8, 8), float(i)) for i in range(3)]
    data = dict(inputs=inputs, data_samples=[
        ActionDataSample().set_gt_label(i) for i in range(3)])
    out = pre(data, training=True)
    labels = torch.stack([s.gt_label for s in out['data_samples']])
    assert labels.shape == (3, 3)
    assert torch.allclose(labels.sum(1), torch.ones(3))
    test_data = dict(inputs=[x.clone() for x in inputs], data_samples=[
        ActionDataSample().set_gt_label(i) for i in range(3)])
    out = pre(test_data, training=False)
    assert torch.equal(out['inputs'], torch.stack(inputs))
