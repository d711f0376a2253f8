"""Spatio-temporal action detector for AVA on a video backbone (no mmdet)."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import Tensor

from mmvmae.registry import MODELS
from ..utils import build_data_preprocessor
from .roi_sampling import sample_training_rois


def _merge(name: str, defaults: dict, given: Optional[dict]) -> dict:
    unknown = set(given or {}) - set(defaults)
    if unknown:
        raise ValueError(f'unknown {name} keys {sorted(unknown)}; allowed: '
                         f'{sorted(defaults)}')
    return {**defaults, **(given or {})}


@MODELS.register_module()
class AVADetector(BaseModel):
    """Classify the actions of given person boxes in a clip.

    ``backbone`` maps ``(B, C, T, H, W)`` to a feature map ``(B, C', T', H',
    W')`` (``VideoMAEViT(out_type='featmap')``); ``roi_head`` turns it and the
    boxes into logits (:class:`RoIActionHead`). Training uses the ground-truth
    boxes and the proposals that overlap them; testing scores the person
    proposals (a full-frame box for a sample with an empty set; the
    ground-truth boxes for samples without proposals, i.e. no proposal
    file).

    Args:
        backbone, roi_head: configs of the two parts.
        train_cfg: ``pos_iou_thr`` (0.9) and ``max_rois`` per clip (32).
        test_cfg: ``multiply_proposal_score`` (False): class score =
            sigmoid, as mmaction2's ``BBoxHeadAVA``; True multiplies it by
            the proposal's detection score when the sample carries scores.
        data_preprocessor: defaults to ``ActionDataPreprocessor`` with the
            ImageNet mean/std and ``format_shape='NCTHW'``.
        size_divisor: pad H and W at the bottom/right (with zeros, i.e. the
            mean colour after normalisation) up to a multiple of this, e.g.
            the patch size 16 for AVA's 256 x 341 test frames; boxes keep
            their coordinates. None: no padding.
    """

    def __init__(self,
                 backbone: dict,
                 roi_head: dict,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 size_divisor: Optional[int] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.roi_head = MODELS.build(roi_head)
        stride = getattr(self.backbone, 'patch_size', None)
        scale = getattr(self.roi_head, 'spatial_scale', None)
        if stride and scale and abs(scale * stride - 1) > 1e-6:
            raise ValueError(
                f'roi_head.spatial_scale={scale:g} does not match the '
                f'backbone, whose feature map has stride {stride} (patch '
                f'size): set spatial_scale=1 / {stride}')
        self.train_cfg = _merge('train_cfg', dict(pos_iou_thr=0.9,
                                                  max_rois=32), train_cfg)
        self.size_divisor = size_divisor
        self.test_cfg = _merge('test_cfg', dict(multiply_proposal_score=False),
                               test_cfg)

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """``(B, C, T, H, W)`` -> backbone feature map ``(B, C', T', H', W')``.
        """
        if self.size_divisor:
            height, width = inputs.shape[-2:]
            pad_h = -height % self.size_divisor
            pad_w = -width % self.size_divisor
            if pad_h or pad_w:
                inputs = F.pad(inputs, (0, pad_w, 0, pad_h))
        feat = self.backbone(inputs)
        if isinstance(feat, (tuple, list)):
            feat = feat[-1]
        if feat.dim() not in (4, 5):
            raise ValueError('AVADetector needs a feature map (B, C, T, H, W) '
                             f'from the backbone, got {tuple(feat.shape)}; '
                             "set out_type='featmap'")
        return feat

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], list,
                                               Tensor]:
        """``mode``: 'loss' (dict of losses), 'predict' (data samples with
        ``pred_instances``) or 'tensor' (the feature map)."""
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if data_samples is None:
            raise ValueError(f"mode='{mode}' needs data_samples with boxes")
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got "
                         f'{mode!r}')

    def loss(self, inputs: Tensor, data_samples: list) -> Dict[str, Tensor]:
        """Multi-label BCE on the training boxes of every clip."""
        feat = self.extract_feat(inputs)
        rois, labels = [], []
        for i, sample in enumerate(data_samples):
            gt = sample.gt_instances
            proposals = (sample.proposals.bboxes
                         if 'proposals' in sample else None)
            boxes, box_labels = sample_training_rois(
                gt.bboxes.to(feat), gt.labels.to(feat), proposals,
                self.train_cfg['pos_iou_thr'], self.train_cfg['max_rois'])
            rois.append(torch.cat([boxes.new_full((len(boxes), 1), i), boxes],
                                  dim=1))
            labels.append(box_labels)
        logits = self.roi_head(feat, torch.cat(rois))
        return self.roi_head.loss(logits, torch.cat(labels))

    def _test_boxes(self, sample) -> tuple:
        """Boxes to score (pixels) and their detection scores (or None)."""
        if 'proposals' in sample:
            proposals = sample.proposals
            if len(proposals.bboxes) == 0:
                # mmaction2's AVADataset gives a keyframe without proposals
                # one full-frame box; never the ground truth, which would
                # leak into the evaluated predictions
                height, width = sample.metainfo['img_shape'][:2]
                return proposals.bboxes.new_tensor(
                    [[0, 0, width, height]]), None
            scores = proposals.scores if 'scores' in proposals else None
            return proposals.bboxes[:, :4], scores
        if 'gt_instances' in sample:  # no proposal file: the GT boxes
            return sample.gt_instances.bboxes, None
        raise ValueError('AVADetector.predict needs proposals or gt_instances '
                         'in every data sample')

    def predict(self, inputs: Tensor, data_samples: list) -> list:
        """Fill ``pred_instances``: ``bboxes (N, 4)`` normalised to [0, 1]
        by ``img_shape`` and ``scores (N, num_classes)``."""
        feat = self.extract_feat(inputs)
        rois, box_scores = [], []
        for i, sample in enumerate(data_samples):
            boxes, scores = self._test_boxes(sample)
            boxes = boxes.to(feat)
            rois.append(torch.cat([boxes.new_full((len(boxes), 1), i), boxes],
                                  dim=1))
            box_scores.append(scores)
        all_rois = torch.cat(rois)
        probs = self.roi_head(feat, all_rois).sigmoid()
        for sample, sample_rois, sample_probs, scores in zip(
                data_samples, all_rois.split([len(r) for r in rois]),
                probs.split([len(r) for r in rois]), box_scores):
            if scores is not None and self.test_cfg['multiply_proposal_score']:
                sample_probs = sample_probs * scores.to(sample_probs)[:, None]
            height, width = sample.metainfo['img_shape'][:2]
            boxes = sample_rois[:, 1:] / sample_rois.new_tensor(
                [width, height, width, height])
            sample.pred_instances = InstanceData(
                bboxes=boxes.clamp(0, 1), scores=sample_probs)
        return data_samples
