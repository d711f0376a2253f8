"""Our AVA frame mAP@0.5 against hand computations and mmaction2's pieces."""
import logging
import multiprocessing

import numpy as np
import pytest
from mmaction.evaluation.functional import ava_utils

import mmvmae
from mmvmae.evaluation.functional import ava_frame_map, match_frame

from .voc_ap import voc_ap

mmvmae.register_all_modules()

G1, G2, G3 = (0.1, 0.1, 0.4, 0.5), (0.2, 0.2, 0.5, 0.6), (0.6, 0.5, 0.9, 0.9)
NEAR_G1 = (0.11, 0.1, 0.4, 0.5)   # IoU > 0.5 with G1
NEAR_G2 = (0.2, 0.21, 0.5, 0.6)
FAR = (0.0, 0.6, 0.2, 0.9)        # overlaps nothing


def _write(path, rows):
    """rows: (timestamp, box, action[, score]) of video 'vid'."""
    path.write_text(''.join(
        ','.join(['vid', f'{r[0]:04d}', *map(str, r[1]), *map(str, r[2:])])
        + '\n' for r in rows))
    return str(path)


def _files(tmp_path, gt, dets, label_ids=(1, 2, 3), exclude=()):
    labels = tmp_path / 'labels.pbtxt'
    labels.write_text(''.join(
        f'label {{\n  name: "act{i}"\n  label_id: {i}\n}}\n'
        for i in label_ids))
    excl = tmp_path / 'exclude.csv'
    excl.write_text(''.join(f'vid,{t:04d}\n' for t in exclude))
    return dict(result_file=_write(tmp_path / 'dets.csv', dets),
                label_file=str(labels),
                ann_file=_write(tmp_path / 'gt.csv', gt),
                exclude_file=str(excl))


class _InlinePool:
    """Stands in for the ``Pool(32)`` that ``ava_eval`` never closes."""

    def __init__(self, *args):
        pass

    def map(self, func, items):
        return [func(item) for item in items]


def _mmaction_ava_eval(monkeypatch, files):
    monkeypatch.setattr(ava_utils.multiprocessing, 'Pool', _InlinePool)
    return ava_utils.ava_eval(
        files['result_file'], 'mAP', files['label_file'], files['ann_file'],
        files['exclude_file'], verbose=False)


def test_class_without_detections_counts_zero(tmp_path, monkeypatch):
    # action 1 found perfectly, action 2 has ground truth but no detection,
    # action 3 has neither (left out).
    files = _files(tmp_path, gt=[(902, G1, 1), (902, G2, 2)],
                   dets=[(902, NEAR_G1, 1, 0.9)])
    result = ava_frame_map(**files, logger=None)
    expected = (voc_ap([0.9], [1], 1) + 0.0) / 2
    assert expected == pytest.approx(0.5)
    assert result['overall'] == pytest.approx(expected)
    assert result['per_class'][1] == pytest.approx(1.0)
    assert result['per_class'][2] == 0.0
    assert np.isnan(result['per_class'][3])
    # mmaction2 1.2.0 drops action 2 from the mean: the defect we answer.
    assert _mmaction_ava_eval(monkeypatch, files)['overall'] == \
        pytest.approx(1.0)


def test_excluded_timestamps_are_left_out(tmp_path, monkeypatch):
    # 0950 is excluded: its ground truth (missed) and its confident false
    # positive must both be ignored.
    gt = [(902, G1, 1), (950, G2, 1)]
    dets = [(902, NEAR_G1, 1, 0.5), (950, FAR, 1, 0.9)]
    files = _files(tmp_path, gt, dets, exclude=[950])
    assert ava_frame_map(**files, logger=None)['overall'] == \
        pytest.approx(voc_ap([0.5], [1], 1))
    # Without the exclusion: .9 FP then .5 TP, 2 ground truths.
    files['exclude_file'] = None
    assert ava_frame_map(**files, logger=None)['overall'] == \
        pytest.approx(voc_ap([0.9, 0.5], [0, 1], 2))
    # mmaction2 1.2.0 still counts the excluded ground truth (recall 1/2).
    files = _files(tmp_path, gt, dets, exclude=[950])
    assert _mmaction_ava_eval(monkeypatch, files)['overall'] == \
        pytest.approx(voc_ap([0.5], [1], 2))


def test_group_means(tmp_path):
    # movement: 1 (AP 1), 5 (no gt); manipulation: 20; interaction: 70
    # (gt, no detection), 80 (AP 1).
    gt = [(902, G1, 1), (902, G2, 20), (903, G1, 70), (903, G3, 80)]
    dets = [(902, NEAR_G1, 1, 0.8), (902, FAR, 20, 0.9),
            (902, NEAR_G2, 20, 0.4), (903, G3, 80, 0.7), (903, G3, 5, 0.6)]
    files = _files(tmp_path, gt, dets, label_ids=(1, 5, 20, 70, 80))
    result = ava_frame_map(**files, logger=None)
    ap = {1: voc_ap([0.8], [1], 1), 20: voc_ap([0.9, 0.4], [0, 1], 1),
          70: 0.0, 80: voc_ap([0.7], [1], 1)}
    assert result['person_movement'] == pytest.approx(ap[1])
    assert result['object_manipulation'] == pytest.approx(ap[20])
    assert result['person_interaction'] == pytest.approx(
        (ap[70] + ap[80]) / 2)
    assert result['overall'] == pytest.approx(np.mean(list(ap.values())))
    assert np.isnan(result['per_class'][5])
    # A subset of classes: the others are not evaluated at all.
    sub = ava_frame_map(**files, class_ids=[20, 80], logger=None)
    assert sorted(sub['per_class']) == [20, 80]
    assert np.isnan(sub['person_movement'])
    assert sub['overall'] == pytest.approx((ap[20] + ap[80]) / 2)


def test_group_boundaries(tmp_path):
    """AVA's groups: ids 1-14 person movement, 15-63 object manipulation
    (49 classes), 64-80 person interaction (17)."""
    gt = [(902, G1, 14), (902, G2, 15), (903, G1, 63), (903, G3, 64)]
    dets = [(902, NEAR_G1, 14, 0.8), (903, NEAR_G1, 63, 0.7)]
    files = _files(tmp_path, gt, dets, label_ids=(14, 15, 63, 64))
    result = ava_frame_map(**files, logger=None)
    assert result['per_class'] == pytest.approx({14: 1., 15: 0., 63: 1.,
                                                 64: 0.})
    assert result['person_movement'] == pytest.approx(1.)  # 14
    assert result['object_manipulation'] == pytest.approx(0.5)  # 15, 63
    assert result['person_interaction'] == pytest.approx(0.)  # 64


def test_empty_frames_option(tmp_path):
    # A confident detection on a frame without ground truth.
    files = _files(tmp_path, gt=[(902, G1, 1)],
                   dets=[(902, NEAR_G1, 1, 0.5), (904, G1, 1, 0.9)])
    assert ava_frame_map(**files, logger=None)['overall'] == \
        pytest.approx(1.0)
    assert ava_frame_map(**files, ignore_empty_frames=False,
                         logger=None)['overall'] == \
        pytest.approx(voc_ap([0.9, 0.5], [0, 1], 1))


def test_iou_threshold_default_is_0_5_inclusive(tmp_path):
    """mAP@0.5: a detection at IoU exactly 0.5 is a hit (the official script
    and mmaction2's ``tpfp`` compare with >=), one at 0.45 is not."""
    whole = (0.0, 0.0, 1.0, 1.0)
    for det, hit in (((0.0, 0.0, 0.5, 1.0), True),
                     ((0.0, 0.0, 0.45, 1.0), False)):
        files = _files(tmp_path, gt=[(902, whole, 1)],
                       dets=[(902, det, 1, 0.9)], label_ids=(1, ))
        assert ava_frame_map(**files, logger=None)['per_class'][1] == \
            (1.0 if hit else 0.0), det
        assert match_frame(np.array([whole]), np.array([1]), np.array([det]),
                           np.array([1]))[0] == hit


def test_no_process_is_left(tmp_path, monkeypatch):
    def no_pool(*args, **kwargs):
        raise AssertionError('ava_frame_map must not start a process pool')

    monkeypatch.setattr(multiprocessing, 'Pool', no_pool)
    before = set(multiprocessing.active_children())
    files = _files(tmp_path, gt=[(902, G1, 1)], dets=[(902, G1, 1, 0.5)])
    ava_frame_map(**files, logger=None)
    assert set(multiprocessing.active_children()) - before == set()


def test_matching_agrees_with_mmaction_tpfp_single():
    rng = np.random.default_rng(0)
    for _ in range(50):
        num_gt, num_det = rng.integers(0, 5), rng.integers(0, 12)
        # few distinct boxes so that duplicates and misses both happen
        base = rng.uniform(0, 0.5, (3, 2))
        base = np.concatenate([base, base + rng.uniform(0.2, 0.5, (3, 2))], 1)
        jitter = lambda n: base[rng.integers(0, 3, n)] + rng.normal(  # noqa
            0, 0.05, (n, 4))
        gt_box, gt_label = jitter(num_gt), rng.integers(1, 4, num_gt)
        box, label = jitter(num_det), rng.integers(1, 4, num_det)
        score = np.sort(rng.uniform(0, 1, num_det))[::-1]
        ours = match_frame(gt_box.astype(np.float32), gt_label,
                           box.astype(np.float32), label)
        ref_scores, ref_tp = ava_utils.tpfp_single(
            (list(gt_box), list(gt_label), list(box), list(label),
             list(score)))
        for cls in ref_tp:
            np.testing.assert_array_equal(ours[label == cls], ref_tp[cls])
            np.testing.assert_allclose(score[label == cls], ref_scores[cls],
                                       rtol=1e-6)


def test_bad_input_is_named(tmp_path, caplog):
    files = _files(tmp_path, gt=[(902, G1, 1)], dets=[(902, G1, 1, 0.5)])
    with pytest.raises(ValueError, match='class_ids'):
        ava_frame_map(**files, class_ids=[7], logger=None)
    logger = logging.getLogger('test_ava_frame_map')
    with caplog.at_level(logging.INFO, logger=logger.name):
        ava_frame_map(**files, logger=logger)
    assert 'act1' in caplog.text and 'overall mAP: 1.0000' in caplog.text
    (tmp_path / 'dets.csv').write_text('vid,0902,0.1,0.1\n')
    with pytest.raises(ValueError, match='dets.csv'):
        ava_frame_map(**files, logger=None)


def test_max_dets_per_frame_keeps_the_official_top_50(tmp_path):
    # 902: 56 class-2 detections (the best a hit) outscore the class-1 hit,
    # which ranks 57th; 903 has a single, low-scoring class-1 hit. Rows of
    # action 7 (not in the label map) take no place in the 50.
    gt = [(902, G1, 1), (902, G2, 2), (903, G1, 1)]
    cls2 = [0.99 - i / 100 for i in range(56)]
    dets = ([(902, G3, 7, 1.0)] * 10
            + [(902, NEAR_G2 if i == 0 else FAR, 2, s)
               for i, s in enumerate(cls2)]
            + [(902, NEAR_G1, 1, 0.1), (903, NEAR_G1, 1, 0.05)])
    files = _files(tmp_path, gt, dets)
    ap2 = voc_ap(cls2, [1] + [0] * 55, 1)
    assert ap2 == pytest.approx(1.0)
    # default: every detection, as mmaction2
    result = ava_frame_map(**files, logger=None)
    assert result['per_class'][1] == pytest.approx(
        voc_ap([0.1, 0.05], [1, 1], 2))
    assert result['overall'] == pytest.approx(1.0)
    # official script (capacity=50): 902's class-1 hit is cut, 903's not
    official = ava_frame_map(**files, max_dets_per_frame=50, logger=None)
    assert official['per_class'][1] == pytest.approx(
        voc_ap([0.05], [1], 2))
    assert official['per_class'][2] == pytest.approx(
        voc_ap(cls2[:50], [1] + [0] * 49, 1))
    assert official['overall'] == pytest.approx((0.5 + 1.0) / 2)
    assert ava_frame_map(**files, max_dets_per_frame=57, logger=None)[
        'overall'] == pytest.approx(1.0)


def test_max_dets_per_frame_ties_and_bad_values(tmp_path, caplog):
    gt = [(902, G1, 1)]
    # tied scores at the cut: the row earlier in the file is kept
    files = _files(tmp_path, gt, [(902, FAR, 1, 0.5), (902, NEAR_G1, 1, 0.5)])
    assert ava_frame_map(**files, max_dets_per_frame=1,
                         logger=None)['overall'] == 0.0
    files = _files(tmp_path, gt, [(902, NEAR_G1, 1, 0.5), (902, FAR, 1, 0.5)])
    logger = logging.getLogger('test_ava_frame_map')
    with caplog.at_level(logging.INFO, logger=logger.name):
        assert ava_frame_map(**files, max_dets_per_frame=1,
                             logger=logger)['overall'] == 1.0
    assert 'kept the 1 highest-scoring detections per frame, dropped 1 of ' \
        '2' in caplog.text
    for bad in (0, -1, 2.5, True, '50'):
        with pytest.raises(ValueError, match='max_dets_per_frame must be'):
            ava_frame_map(**files, max_dets_per_frame=bad, logger=None)
