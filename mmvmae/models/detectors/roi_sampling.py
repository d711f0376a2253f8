"""Training RoIs for AVA: ground-truth boxes plus proposals that overlap them.

This is what mmaction2's AVA recipe gets from mmdet's ``MaxIoUAssignerAVA``
(``pos_iou_thr=0.9``) and ``RandomSampler(num=32, pos_fraction=1,
add_gt_as_proposals=True)``: the ground-truth boxes join the proposals, every
box whose best IoU with a ground-truth box reaches the threshold takes that
box's labels, and at most ``max_rois`` of them are kept at random. Negatives
are not needed: the AVA loss only counts boxes with at least one action.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """IoU of ``(N, 4)`` and ``(M, 4)`` ``x1, y1, x2, y2`` boxes -> ``(N, M)``.
    """
    area1 = (boxes1[:, 2] - boxes1[:, 0]).clamp(min=0) * (
        boxes1[:, 3] - boxes1[:, 1]).clamp(min=0)
    area2 = (boxes2[:, 2] - boxes2[:, 0]).clamp(min=0) * (
        boxes2[:, 3] - boxes2[:, 1]).clamp(min=0)
    top_left = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    union = area1[:, None] + area2[None, :] - inter
    return inter / union.clamp(min=1e-6)


def sample_training_rois(
        gt_bboxes: Tensor,
        gt_labels: Tensor,
        proposals: Optional[Tensor] = None,
        pos_iou_thr: float = 0.9,
        max_rois: int = 32,
        generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """Boxes to train on and their multi-hot labels, for one clip.

    Args:
        gt_bboxes: ``(G, 4)`` ground-truth boxes in input pixels.
        gt_labels: ``(G, num_classes)`` multi-hot labels.
        proposals: ``(P, 4)`` detector boxes, or None.
        pos_iou_thr: IoU with a ground-truth box for a proposal to count.
        max_rois: keep at most this many boxes (random subset); <= 0 keeps
            all.

    Returns:
        ``(K, 4)`` boxes and ``(K, num_classes)`` labels, ground truth first
        when nothing is dropped.
    """
    if gt_bboxes.shape[0] == 0:
        return gt_bboxes.new_zeros(0, 4), gt_labels.new_zeros(
            0, gt_labels.shape[-1])
    boxes, labels = gt_bboxes, gt_labels
    if proposals is not None and proposals.shape[0] > 0:
        proposals = proposals[:, :4].to(gt_bboxes)
        best_iou, best_gt = box_iou(proposals, gt_bboxes).max(dim=1)
        keep = best_iou >= pos_iou_thr
        boxes = torch.cat([gt_bboxes, proposals[keep]])
        labels = torch.cat([gt_labels, gt_labels[best_gt[keep]]])
    if 0 < max_rois < boxes.shape[0]:
        chosen = torch.randperm(boxes.shape[0], generator=generator,
                                device=boxes.device)[:max_rois]
        boxes, labels = boxes[chosen], labels[chosen]
    return boxes, labels
