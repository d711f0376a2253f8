"""AVA frame mAP@0.5: VOC AP per class, averaged as the official ActivityNet
script (``get_ava_performance.py``, TF object detection) does.

Replaces mmaction2 1.2.0's ``ava_eval``
(``mmaction.evaluation.functional.ava_utils``), which:

1. creates ``multiprocessing.Pool(32)`` on every call and never closes or
   joins it: 32 leaked worker processes per evaluation, whatever the number
   of cores. Here the per-frame matching is vectorised numpy in this process.
2. drops classes that have ground truth but receive no detection from the
   mean (``np.nanmean`` over the classes that have detections only), which
   inflates the overall and group mAPs. Here such a class counts with AP 0,
   as in the official ``ObjectDetectionEvaluation``; only classes without
   ground truth are left out (AP NaN).
3. counts ground truth on excluded timestamps in the recall denominator.
   Here excluded frames are left out entirely (ground truth and detections),
   as in the official script.

Two choices of the official script are options, off by default as in
mmaction2's ``ava_eval`` (which keeps every detection, as SlowFast's AVA
evaluation does, and evaluates frames with ground truth only):
``max_dets_per_frame=50`` keeps only the 50 highest-scoring detections of
each keyframe (the official script reads detections with ``capacity=50``),
and ``ignore_empty_frames=False`` counts detections on frames without ground
truth as false positives. With both, the official script's frames and
detections are evaluated, but for scores that tie at a frame's 50th place:
here the rows earlier in the file are kept, the official heap may keep
another of them.

The file readers (``read_csv``, ``read_labelmap``, ``read_exclusions``) and
the VOC precision/recall/AP functions are mmaction2's (from ActivityNet/TF).
Matching gives the same flags as ``tpfp_single`` (same IoU function): per
frame and class, detections in descending score order take the ground-truth
box of highest IoU if IoU >= ``iou_thr`` and that box is not taken yet;
otherwise they are false positives.
"""
import math
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmaction.evaluation.functional.ava_evaluation import metrics, np_box_ops
from mmaction.evaluation.functional.ava_utils import (read_csv,
                                                      read_exclusions,
                                                      read_labelmap)
from mmengine.logging import print_log

# AVA action groups by label id (v2.1/v2.2 label map).
ACTION_GROUPS = {
    'person_movement': lambda i: i <= 14,
    'object_manipulation': lambda i: 14 < i < 64,
    'person_interaction': lambda i: i >= 64,
}


def match_frame(gt_boxes: np.ndarray, gt_labels: np.ndarray,
                boxes: np.ndarray, labels: np.ndarray,
                iou_thr: float = 0.5) -> np.ndarray:
    """True/false positive flags of one frame's detections.

    Args:
        gt_boxes: ``(M, 4)`` ground-truth boxes; ``gt_labels``: ``(M,)``.
        boxes: ``(N, 4)`` detections sorted by descending score;
            ``labels``: ``(N,)``.

    Returns:
        ``(N,)`` bool, True where the detection is a true positive.
    """
    is_tp = np.zeros(len(boxes), dtype=bool)
    if len(boxes) == 0 or len(gt_boxes) == 0:
        return is_tp
    with np.errstate(divide='ignore', invalid='ignore'):  # empty boxes
        iou = np_box_ops.iou(boxes, gt_boxes)  # as tpfp_single, ties too
    iou[labels[:, None] != gt_labels[None, :]] = -1  # other classes
    best_gt = iou.argmax(axis=1)
    hit = np.flatnonzero(iou[np.arange(len(boxes)), best_gt] >= iou_thr)
    # Each ground-truth box goes to its first (highest scoring) hit.
    _, first = np.unique(best_gt[hit], return_index=True)
    is_tp[hit[first]] = True
    return is_tp


def _as_arrays(boxes: list, labels: list) -> Tuple[np.ndarray, np.ndarray]:
    return (np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            np.asarray(labels, dtype=np.int64).reshape(-1))


def _read_csv(path: str, whitelist: set) -> tuple:
    """mmaction2's ``read_csv`` with an error naming the file."""
    with open(path) as f:
        try:
            return read_csv(f, whitelist)
        except (AssertionError, TypeError, ValueError, IndexError) as err:
            raise ValueError(
                f'ava_frame_map: {path} is not an AVA CSV (rows: video_id,'
                f'timestamp,x1,y1,x2,y2,action_id[,score]): {err}') from err


def check_max_dets_per_frame(value: Optional[int], who: str) -> None:
    """ValueError unless ``value`` is None or a positive int."""
    if value is not None and (isinstance(value, bool)
                              or not isinstance(value, int) or value < 1):
        raise ValueError(f'{who}: max_dets_per_frame must be a positive int '
                         '(the official script: 50) or None (keep all), got '
                         f'{value!r}')


def _keep_top(limit: int, boxes: dict, labels: dict, scores: dict,
              logger: Optional[str]) -> None:
    """Cut every frame's detections to its ``limit`` best, in place (the
    reader's lists are sorted by descending score, ties in file order)."""
    dropped = total = 0
    for key in boxes:
        total += len(boxes[key])
        dropped += max(len(boxes[key]) - limit, 0)
        for table in (boxes, labels, scores):
            del table[key][limit:]
    if dropped and logger is not None:
        print_log(f'ava_frame_map: kept the {limit} highest-scoring '
                  f'detections per frame, dropped {dropped} of {total}',
                  logger=logger)


def _mean(values: List[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def ava_frame_map(result_file: str,
                  label_file: str,
                  ann_file: str,
                  exclude_file: Optional[str] = None,
                  class_ids: Optional[Sequence[int]] = None,
                  iou_thr: float = 0.5,
                  ignore_empty_frames: bool = True,
                  max_dets_per_frame: Optional[int] = None,
                  logger: Optional[str] = 'current') -> Dict:
    """Frame mAP of AVA detections against ground truth.

    Args:
        result_file: detections, ``video_id,timestamp,x1,y1,x2,y2,action,
            score`` rows (official AVA format).
        label_file: label map (``.pbtxt``): the classes evaluated.
        ann_file: ground-truth CSV in the same format (8th column ignored).
        exclude_file: CSV of ``video_id,timestamp`` frames to leave out.
        class_ids: evaluate only these label ids (a subset of the label map).
        iou_thr: IoU for a true positive.
        ignore_empty_frames: if True, only frames with ground truth are
            evaluated (mmaction2's default); if False, detections on frames
            without ground truth are false positives (official script).
        max_dets_per_frame: keep only this many highest-scoring detections
            (of the evaluated classes) per frame; the official script keeps
            50. None (default): keep all, as mmaction2 does.
        logger: where the per-class table goes (``print_log``); None: silent.

    Returns:
        ``overall``, ``person_movement``, ``object_manipulation``,
        ``person_interaction`` (floats, NaN for a group without ground
        truth) and ``per_class``: ``{label_id: AP}`` (NaN without ground
        truth, 0 with ground truth but no detection).
    """
    check_max_dets_per_frame(max_dets_per_frame, 'ava_frame_map')
    with open(label_file) as f:
        categories, whitelist = read_labelmap(f)
    names = {c['id']: c['name'] for c in categories}
    if class_ids is not None:
        unknown = sorted(set(class_ids) - whitelist)
        if unknown:
            raise ValueError(f'ava_frame_map: class_ids {unknown} are not in '
                             f'label_file {label_file} (ids {sorted(names)})')
        whitelist = set(class_ids)
    if not whitelist:
        raise ValueError(f'ava_frame_map: no classes in {label_file}')
    gt_boxes, gt_labels, _ = _read_csv(ann_file, whitelist)
    det_boxes, det_labels, det_scores = _read_csv(result_file, whitelist)
    if max_dets_per_frame is not None:
        _keep_top(max_dets_per_frame, det_boxes, det_labels, det_scores,
                  logger)
    excluded = set()
    if exclude_file is not None:
        with open(exclude_file) as f:
            excluded = read_exclusions(f)

    frames = gt_boxes if ignore_empty_frames else set(gt_boxes) | set(
        det_boxes)
    num_gt = defaultdict(int)
    scores, tps = defaultdict(list), defaultdict(list)
    for key in frames:
        if key in excluded:
            continue
        gt_box, gt_label = _as_arrays(gt_boxes.get(key, []),
                                      gt_labels.get(key, []))
        box, label = _as_arrays(det_boxes.get(key, []),
                                det_labels.get(key, []))
        score = np.asarray(det_scores.get(key, []), dtype=np.float32)
        for cls in gt_label.tolist():
            num_gt[cls] += 1
        is_tp = match_frame(gt_box, gt_label, box, label, iou_thr)
        for cls in np.unique(label).tolist():
            scores[cls].append(score[label == cls])
            tps[cls].append(is_tp[label == cls])

    per_class = {}
    for cls in sorted(whitelist):
        if num_gt[cls] == 0:
            per_class[cls] = math.nan
            continue
        cls_scores = np.concatenate(scores[cls] or [np.zeros(0, np.float32)])
        cls_tps = np.concatenate(tps[cls] or [np.zeros(0, bool)])
        precision, recall = metrics.compute_precision_recall(
            cls_scores, cls_tps, num_gt[cls])
        per_class[cls] = float(
            metrics.compute_average_precision(precision, recall))

    result = {'overall': _mean(list(per_class.values()))}
    for group, in_group in ACTION_GROUPS.items():
        result[group] = _mean(
            [ap for cls, ap in per_class.items() if in_group(cls)])
    result['per_class'] = per_class
    if logger is not None:
        _log_table(result, names, num_gt, scores, logger)
    return result


def _log_table(result: Dict, names: Dict[int, str], num_gt: Dict,
               scores: Dict, logger: str) -> None:
    lines = [f'{"id":>4} {"action":<40} {"gt":>7} {"dets":>8} {"AP":>7}']
    for cls, ap in result['per_class'].items():
        num_det = sum(len(s) for s in scores.get(cls, []))
        lines.append(f'{cls:>4} {names[cls][:40]:<40} {num_gt[cls]:>7} '
                     f'{num_det:>8} {ap:>7.4f}')
    lines += [f'{key} mAP: {result[key]:.4f}'
              for key in ('overall', *ACTION_GROUPS)]
    print_log('AVA frame mAP@0.5 per class:\n' + '\n'.join(lines),
              logger=logger)
