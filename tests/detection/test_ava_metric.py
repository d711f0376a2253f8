"""``AVAFrameMAP`` (frame mAP@0.5, classes averaged as the official AVA
script) on hand-made cases."""
import csv

import numpy as np
import pytest
import torch

from mmvmae.registry import METRICS

from .voc_ap import voc_ap

LABELS = 'label {\n  name: "a"\n  label_id: 1\n}\n' \
         'label {\n  name: "b"\n  label_id: 2\n}\n' \
         'label {\n  name: "c"\n  label_id: 3\n}\n'
G1, G2, G3 = (0.1, 0.1, 0.4, 0.5), (0.2, 0.2, 0.5, 0.6), (0.6, 0.5, 0.9, 0.9)
GT_ROWS = [('vid', '0902', G1, 1), ('vid', '0902', G1, 2),
           ('vid', '0902', G3, 1), ('vid', '0903', G2, 1)]


@pytest.fixture
def files(tmp_path):
    ann = tmp_path / 'gt.csv'
    ann.write_text(''.join(
        f'{v},{t},{",".join(map(str, box))},{a},0\n'
        for v, t, box, a in GT_ROWS))
    labels = tmp_path / 'labels.pbtxt'
    labels.write_text(LABELS)
    exclude = tmp_path / 'exclude.csv'
    exclude.write_text('vid,0950\n')
    return dict(ann_file=str(ann), label_file=str(labels),
                exclude_file=str(exclude))


def _pred(timestamp, boxes, scores):
    return dict(video_id='vid', timestamp=timestamp,
                pred_instances=dict(bboxes=torch.tensor(boxes),
                                    scores=torch.tensor(scores)))


def test_frame_map_matches_hand_computation(files, tmp_path):
    near_g1 = (0.11, 0.1, 0.4, 0.5)   # IoU > 0.5 with G1
    far = (0.0, 0.6, 0.2, 0.9)        # overlaps nothing
    near_g3 = (0.6, 0.52, 0.9, 0.9)
    near_g2 = (0.2, 0.21, 0.5, 0.6)
    preds = [
        _pred(902, [near_g1, far, near_g3],
              [[0, .9, .6, 0], [0, .8, .5, .3], [0, .3, 0, 0]]),
        _pred(903, [near_g2], [[0, .7, 0, 0]]),
    ]
    out_csv = tmp_path / 'out' / 'detections.csv'
    metric = METRICS.build(dict(type='AVAFrameMAP', num_classes=4,
                                out_csv=str(out_csv), **files))
    metric.process([], preds)
    result = metric.compute_metrics(metric.results)

    # action 1: .9 TP (G1), .8 FP, .7 TP (G2), .3 TP (G3); 3 ground truths
    ap1 = voc_ap([.9, .8, .7, .3], [1, 0, 1, 1], 3)
    # action 2: .6 TP (G1), .5 FP; 1 ground truth. Action 3 has no ground
    # truth: its AP is NaN and left out of the mean.
    ap2 = voc_ap([.6, .5], [1, 0], 1)
    assert ap1 == pytest.approx(1 / 3 + 2 / 3 * 0.75)
    assert ap2 == pytest.approx(1.0)
    assert result['overall'] == pytest.approx((ap1 + ap2) / 2, abs=1e-4)

    rows = list(csv.reader(open(out_csv)))
    assert len(rows) == 7  # one per (box, action) with score > action_thr
    assert all(len(r) == 8 and len(r[1]) == 4 for r in rows)
    first = rows[0]
    assert first[:2] == ['vid', '0902'] and int(first[6]) == 1
    np.testing.assert_allclose([float(v) for v in first[2:6]], near_g1)
    assert float(first[7]) == pytest.approx(0.9)


def test_missed_detection_lowers_recall(files):
    metric = METRICS.build(dict(type='AVAFrameMAP', num_classes=4, **files))
    metric.process([], [_pred(902, [G1], [[0, .9, .9, 0]])])
    result = metric.compute_metrics(metric.results)
    # action 1 finds 1 of 3 boxes at precision 1, action 2 its only box
    assert result['overall'] == pytest.approx((1 / 3 + 1.0) / 2, abs=1e-4)


def test_class_without_detection_counts_zero(files):
    # action 2 has one ground-truth box and no detection: AP 0, not dropped
    # (mmaction2 1.2.0's ava_eval would report the action-1 AP alone).
    metric = METRICS.build(dict(type='AVAFrameMAP', num_classes=4, **files))
    metric.process([], [_pred(902, [G1, G3], [[0, .9, 0, 0], [0, .8, 0, 0]]),
                        _pred(903, [G2], [[0, .7, 0, 0]])])
    result = metric.compute_metrics(metric.results)
    assert result['overall'] == pytest.approx((1.0 + 0.0) / 2, abs=1e-4)
    assert result['person_movement'] == result['overall']
    assert metric.per_class_ap[1] == pytest.approx(1.0, abs=1e-4)
    assert metric.per_class_ap[2] == 0.0
    assert np.isnan(metric.per_class_ap[3])


def test_custom_classes_map_the_score_columns(files):
    """``custom_classes=[2, 3]``: score column 1 is action 2, column 2
    action 3, and only those are evaluated (action 1's ground truth is not
    a miss)."""
    metric = METRICS.build(dict(type='AVAFrameMAP', num_classes=3,
                                custom_classes=[2, 3], **files))
    metric.process([], [_pred(902, [G1], [[0, .9, .1]])])
    result = metric.compute_metrics(metric.results)
    assert sorted(metric.per_class_ap) == [2, 3]
    assert metric.per_class_ap[2] == pytest.approx(1.0)  # G1 is action 2
    assert np.isnan(metric.per_class_ap[3])  # no ground truth
    assert result['overall'] == pytest.approx(1.0)


def test_frames_without_ground_truth_are_not_evaluated(files):
    """As mmaction2 (``ignore_empty_frames``): a confident detection on a
    keyframe without ground truth changes nothing."""
    far = (0.0, 0.6, 0.2, 0.9)
    preds = [_pred(902, [G1], [[0, .9, .9, 0]])]
    results = []
    for extra in ([], [_pred(904, [far], [[0, .99, .99, 0]])]):
        metric = METRICS.build(dict(type='AVAFrameMAP', num_classes=4,
                                    **files))
        metric.process([], preds + extra)
        results.append(metric.compute_metrics(metric.results)['overall'])
    assert results[1] == results[0] == pytest.approx((1 / 3 + 1.0) / 2,
                                                     abs=1e-4)


def test_close_scores_keep_their_order(files):
    """Scores go to the evaluation with 6 decimals: 0.50001 still ranks
    above 0.49999 (a tie at 2 or 4 decimals would rank the later row, the
    false positive, first: the VOC code sorts ascending and reverses)."""
    far = (0.0, 0.6, 0.2, 0.9)
    metric = METRICS.build(dict(type='AVAFrameMAP', num_classes=4, **files))
    metric.process([], [_pred(902, [G1, far], [[0, .50001, 0, 0],
                                               [0, .49999, 0, 0]])])
    metric.compute_metrics(metric.results)
    assert metric.per_class_ap[1] == pytest.approx(
        voc_ap([.50001, .49999], [1, 0], 3), abs=1e-6)  # 1/3, not 1/6


def test_label_file_is_required(files):
    files['label_file'] = None
    with pytest.raises(ValueError, match='label_file'):
        METRICS.build(dict(type='AVAFrameMAP', **files))


def test_max_dets_per_frame(files):
    near_g1 = (0.11, 0.1, 0.4, 0.5)
    far = (0.0, 0.6, 0.2, 0.9)
    preds = [_pred(902, [far, near_g1], [[0, .9, 0, 0], [0, .8, .7, 0]])]
    ap1 = voc_ap([.9, .8], [0, 1], 3)
    metric = METRICS.build(dict(type='AVAFrameMAP', num_classes=4, **files))
    metric.process([], preds)
    assert metric.compute_metrics(metric.results)['overall'] == \
        pytest.approx((ap1 + 1.0) / 2, abs=1e-4)
    # the 3rd detection of frame 902 (action 2, .7) is not evaluated
    metric = METRICS.build(dict(type='AVAFrameMAP', num_classes=4,
                                max_dets_per_frame=2, **files))
    metric.process([], preds)
    assert metric.compute_metrics(metric.results)['overall'] == \
        pytest.approx((ap1 + 0.0) / 2, abs=1e-4)
    assert metric.per_class_ap[2] == 0.0
    with pytest.raises(ValueError, match='max_dets_per_frame must be'):
        METRICS.build(dict(type='AVAFrameMAP', max_dets_per_frame=0,
                           **files))
