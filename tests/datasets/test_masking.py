"""Masking transforms: exact counts and structure (facts of VIDEOMAE.md)."""
import numpy as np
import pytest

import mmvmae
from mmvmae.registry import TRANSFORMS

mmvmae.register_all_modules()


def clip(frames=16, height=224, width=224):
    """Results of a decoded, resized clip (what the transform sees)."""
    imgs = [np.zeros((height, width, 3), np.uint8)] * frames
    return dict(imgs=imgs, clip_len=frames, num_clips=1,
                img_shape=(height, width))


def build(type_, **kwargs):
    return TRANSFORMS.build(dict(type=type_, **kwargs))


@pytest.mark.parametrize('ratio,visible_per_slot', [(0.9, 20), (0.75, 49)])
def test_tube_masking_counts_and_structure(ratio, visible_per_slot):
    # VIDEOMAE.md: 0.9 leaves 20 of 196 per slot (160 visible, 1408 masked),
    # 0.75 leaves 49 per slot.
    np.random.seed(0)
    mask = build('TubeMasking', mask_ratio=ratio)(clip())['mask']
    assert mask.dtype == bool and mask.shape == (8 * 14 * 14, )
    slots = mask.reshape(8, 196)
    assert (slots == slots[0]).all(), 'tube mask must repeat over time'
    assert (~slots[0]).sum() == visible_per_slot
    assert (~mask).sum() == 8 * visible_per_slot
    assert mask.sum() == 1568 - 8 * visible_per_slot


def test_tube_masking_numbers_for_16x224():
    mask = build('TubeMasking', mask_ratio=0.9)(clip())['mask']
    assert (~mask).sum() == 160 and mask.sum() == 1408


def test_masks_are_random_and_seeded():
    transform = build('TubeMasking', mask_ratio=0.9)
    np.random.seed(3)
    first = transform(clip())['mask']
    second = transform(clip())['mask']
    np.random.seed(3)
    again = transform(clip())['mask']
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again)


def test_random_masking_exact_count_not_tube():
    np.random.seed(1)
    transform = build('RandomMasking', mask_ratio=0.9)
    for _ in range(3):
        mask = transform(clip())['mask']
        assert mask.shape == (1568, ) and mask.sum() == int(0.9 * 1568)
    slots = mask.reshape(8, 196)
    assert not (slots == slots[0]).all(), 'space-time agnostic, not tubes'


def test_grid_from_img_shape_and_small_clips():
    # No frames yet: the grid comes from img_shape and clip_len.
    results = dict(img_shape=(64, 32), clip_len=8)
    mask = build('RandomMasking', mask_ratio=0.5)(results)['mask']
    assert mask.shape == (4 * 4 * 2, ) and mask.sum() == 16
    # patch/tubelet sizes change the grid
    mask = build('TubeMasking', mask_ratio=0.75, patch_size=8,
                 tubelet_size=4)(clip(8, 32, 32))['mask']
    assert mask.shape == (2 * 4 * 4, ) and (~mask).sum() == 2 * 4


def running_cells(mask, grid):
    """(T', H'/2, W'/2, 2, 2) view of a running-cell mask."""
    t, h, w = grid
    return mask.reshape(t, h // 2, 2, w // 2, 2).transpose(0, 1, 3, 2, 4)


def test_running_cell_structure():
    transform = build('RunningCellMasking')
    np.random.seed(0)
    phases = set()
    for _ in range(40):
        mask = transform(clip())['decoder_mask']
        assert mask.shape == (1568, ) and (~mask).sum() == 784  # V2: 784 kept
        cells = running_cells(mask, (8, 14, 14))
        assert (cells.sum(axis=(-1, -2)) == 2).all(), '2 of 4 per cell'
        assert (cells == cells[:, :1, :1]).all(), 'same pattern in all cells'
        patterns = cells[:, 0, 0].reshape(8, 4)
        for t in range(7):  # the pattern runs: it changes every slot ...
            assert not np.array_equal(patterns[t], patterns[t + 1])
        for t in range(4):  # ... with period 4
            np.testing.assert_array_equal(patterns[t], patterns[t + 4])
        # over 4 slots every position is kept exactly twice
        assert ((~patterns[:4]).sum(0) == 2).all()
        phases.add(tuple(patterns[0]))
    assert len(phases) == 4, 'all 4 phases must be reachable'


def test_running_cell_keeps_masks_of_encoder():
    results = build('TubeMasking')(clip())
    results = build('RunningCellMasking')(results)
    assert results['mask'].sum() == 1408
    assert results['decoder_mask'].sum() == 784
    # V2: the decoder sees 160 visible + 784 kept tokens
    assert (~results['mask']).sum() + (~results['decoder_mask']).sum() == 944


@pytest.mark.parametrize('ratio', [0, 1, 1.5, -0.1])
@pytest.mark.parametrize('type_', ['TubeMasking', 'RandomMasking'])
def test_bad_mask_ratio(type_, ratio):
    with pytest.raises(ValueError, match='mask_ratio.*\\(0, 1\\)'):
        build(type_, mask_ratio=ratio)


@pytest.mark.parametrize('type_,ratio,count,unit', [
    ('TubeMasking', 0.01, 0, 'the 64 tokens of a temporal slot'),
    ('RandomMasking', 0.001, 0, "the 256 tokens of the clip \\(T', H', W'\\)"),
], ids=['tube', 'random'])
def test_mask_ratio_must_leave_masked_and_visible_tokens(type_, ratio, count,
                                                         unit):
    # a ratio in (0, 1) can still mask no token of a small grid; that
    # crashed deep in the model, now it is named up front
    match = f'{type_}: mask_ratio {ratio} masks {count} of {unit}.*at least 1'
    with pytest.raises(ValueError, match=match):  # grid known: at build
        build(type_, mask_ratio=ratio, patch_size=8, input_size=(8, 64, 64))
    transform = build(type_, mask_ratio=ratio, patch_size=8)
    with pytest.raises(ValueError, match=match):  # else at first use
        transform(clip(8, 64, 64))


def test_smallest_and_largest_valid_mask_ratio():
    # 1 masked / 1 visible per slot of an 8x8 grid is fine
    for ratio, masked in ((1 / 64, 1), (0.99, 63)):
        mask = build('TubeMasking', mask_ratio=ratio, patch_size=8,
                     input_size=(8, 64, 64))(clip(8, 64, 64))['mask']
        assert (mask.reshape(4, 64).sum(1) == masked).all()
    mask = build('RandomMasking', mask_ratio=0.004, patch_size=8)(clip(
        8, 64, 64))['mask']
    assert mask.sum() == 1


def test_running_cell_errors():
    with pytest.raises(ValueError, match='only mask_ratio=0.5'):
        build('RunningCellMasking', mask_ratio=0.75)
    with pytest.raises(ValueError, match='even'):
        build('RunningCellMasking')(clip(4, 48, 64))  # 3x4 grid
    with pytest.raises(ValueError, match='even'):  # grid known: at build
        build('RunningCellMasking', input_size=(4, 48, 64))


def test_grid_errors():
    with pytest.raises(ValueError, match='not divisible'):
        build('TubeMasking')(clip(8, 60, 64))
    with pytest.raises(ValueError, match='not divisible'):
        build('TubeMasking')(clip(5, 64, 64))
    with pytest.raises(KeyError, match='infer the token grid'):
        build('TubeMasking')(dict())
    with pytest.raises(ValueError, match='num_clips=2'):
        build('TubeMasking')(dict(clip(), num_clips=2))
    with pytest.raises(ValueError, match='input_size'):
        build('TubeMasking', input_size=(16, 224, 224))(clip(8, 64, 64))
    with pytest.raises(ValueError, match='input_size'):
        build('TubeMasking', input_size=(16, 224))
    formatted = TRANSFORMS.build(
        dict(type='FormatShape', input_format='NCTHW'))(clip(4, 32, 32))
    with pytest.raises(ValueError, match='before FormatShape'):
        build('TubeMasking')(formatted)


def test_explicit_input_size():
    transform = build('TubeMasking', input_size=(16, 224, 224))
    assert transform(dict())['mask'].shape == (1568, )
    assert transform(clip())['mask'].shape == (1568, )
