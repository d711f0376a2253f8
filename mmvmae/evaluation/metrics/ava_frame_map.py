"""Frame mAP@0.5 on AVA (``mmvmae.evaluation.functional.ava_frame_map``,
which replaces mmaction2's leaky, inflating ``ava_eval``), plus a CSV export.
"""
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional

from mmaction.evaluation import AVAMetric
from mmaction.evaluation.functional.ava_utils import det2csv
from mmengine.logging import print_log

from mmvmae.registry import METRICS
from ..functional import ava_frame_map
from ..functional.ava_frame_map import check_max_dets_per_frame


def write_ava_csv(results: List[dict], out_file: str,
                  custom_classes: Optional[List[int]] = None) -> int:
    """Write detections in the official AVA result format.

    One row per (box, action): ``video_id, timestamp, x1, y1, x2, y2,
    action_id, score`` with normalised boxes and the 4-digit timestamp of
    the annotation files.

    Args:
        results: ``AVAMetric.results`` items (``video_id``, ``timestamp``,
            ``outputs``: per-class ``(n, 5)`` arrays).
        custom_classes: ``[0] + ids`` when the model predicts a subset.

    Returns:
        number of rows written.
    """
    rows = det2csv(results, custom_classes)
    dirname = osp.dirname(osp.abspath(out_file))
    os.makedirs(dirname, exist_ok=True)
    with open(out_file, 'w') as f:
        for video_id, timestamp, x1, y1, x2, y2, action, score in rows:
            f.write(f'{video_id},{int(timestamp):04d},{x1:.3f},{y1:.3f},'
                    f'{x2:.3f},{y2:.3f},{action},{score:.6f}\n')
    return len(rows)


@METRICS.register_module()
class AVAFrameMAP(AVAMetric):
    """mmaction2's ``AVAMetric`` evaluated by our ``ava_frame_map``, with a
    private temporary result file and an optional copy of the detections as
    an official AVA CSV.

    ``AVAMetric`` writes ``AVA_<time>_result.csv`` into the working folder,
    which two evaluations finishing in the same second overwrite; here it
    lives in a temporary folder. Its ``ava_eval`` leaks a ``Pool(32)`` and
    leaves classes without detections out of the mean; ``ava_frame_map``
    counts them with AP 0 (as the official script). Every detection of a
    frame counts, as in mmaction2; ``max_dets_per_frame=50`` keeps each
    frame's 50 best, as the official ActivityNet script does. Keys:
    ``mAP/overall`` (frame mAP@0.5) and the three AVA action groups; the
    last per-class APs (``{label_id: AP}``, NaN without ground truth) are in
    ``per_class_ap``.

    Args:
        out_csv: if set, where to write the detections (official format).
        max_dets_per_frame: evaluate only this many highest-scoring
            detections per keyframe (official script: 50); None (default):
            all of them. ``out_csv`` gets all of them either way.
        **kwargs: arguments of ``AVAMetric`` (``ann_file``, ``exclude_file``,
            ``label_file``, ``action_thr``, ``num_classes``,
            ``custom_classes``).
    """

    def __init__(self, *args, out_csv: Optional[str] = None,
                 max_dets_per_frame: Optional[int] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ('ann_file', 'label_file'):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f'AVAFrameMAP: {name} must be a path')
        if tuple(self.options) != ('mAP', ):
            raise ValueError(f"AVAFrameMAP: options must be ('mAP',), "
                             f'got {self.options}')
        check_max_dets_per_frame(max_dets_per_frame, 'AVAFrameMAP')
        self.out_csv = out_csv
        self.max_dets_per_frame = max_dets_per_frame
        self.per_class_ap: Dict[int, float] = {}

    def compute_metrics(self, results: list) -> dict:
        with tempfile.TemporaryDirectory(prefix='ava-eval-') as tmp:
            result_file = osp.join(tmp, 'result.csv')
            write_ava_csv(results, result_file, self.custom_classes)
            if self.out_csv:
                rows = write_ava_csv(results, self.out_csv,
                                     self.custom_classes)
                print_log(f'wrote {rows} AVA detections to {self.out_csv}',
                          logger='current')
            metrics = ava_frame_map(
                result_file,
                self.label_file,
                self.ann_file,
                self.exclude_file,
                class_ids=self.custom_classes and self.custom_classes[1:],
                ignore_empty_frames=True,
                max_dets_per_frame=self.max_dets_per_frame)
        self.per_class_ap = metrics.pop('per_class')
        return {key: float(value) for key, value in metrics.items()}
