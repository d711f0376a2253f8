"""An independent VOC average precision for the detection metric tests."""
import numpy as np


def voc_ap(scores, is_tp, num_gt):
    """Area under the precision envelope (VOC), by hand."""
    order = np.argsort(scores)[::-1]
    tp = np.cumsum(np.asarray(is_tp)[order])
    precision = tp / np.arange(1, len(tp) + 1)
    recall = tp / num_gt
    ap, prev_recall = 0.0, 0.0
    for i in range(len(tp)):
        if recall[i] > prev_recall:
            ap += (recall[i] - prev_recall) * precision[i:].max()
            prev_recall = recall[i]
    return ap
