"""The AVA action head: per-box features from a video feature map -> logits.
"""
from typing import Dict, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmvmae.models.utils.roi_align import RoIAlign
from mmvmae.registry import MODELS


@MODELS.register_module()
class RoIActionHead(BaseModule):
    """Temporal average -> RoIAlign -> spatial max -> dropout -> Linear.

    The recipe of mmaction2's ``SingleRoIExtractor3D(with_temporal_pool)`` +
    ``BBoxHeadAVA`` without mmdet: a multi-label (sigmoid) classifier over
    ``num_classes`` outputs whose index 0 is an unused background slot (AVA
    action ids 1..80 map to outputs 1..80).

    Args:
        in_channels: feature channels C.
        num_classes: outputs including the background slot (81 for AVA).
        roi_size: RoIAlign output per side.
        spatial_scale: 1 / backbone stride (1/16 for ViT patch 16).
        sampling_ratio: RoIAlign samples per bin and axis (0 = adaptive).
        dropout: dropout ratio before the classifier.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int = 81,
                 roi_size: Union[int, Tuple[int, int]] = 8,
                 spatial_scale: float = 1 / 16,
                 sampling_ratio: int = 0,
                 dropout: float = 0.5,
                 init_cfg: Union[dict, None] = dict(
                     type='Xavier', distribution='normal', layer='Linear',
                     bias=0.)) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 2:
            raise ValueError('num_classes counts the background slot 0 and '
                             f'at least one action, got {num_classes}')
        self.num_classes = num_classes
        self.spatial_scale = spatial_scale
        self.roi_align = RoIAlign(roi_size, spatial_scale, sampling_ratio,
                                  aligned=True)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def forward(self, feat: Tensor, rois: Tensor) -> Tensor:
        """Logits of each box.

        Args:
            feat: ``(B, C, T', H', W')`` (or ``(B, C, H', W')``) features.
            rois: ``(R, 5)`` rows ``(batch_index, x1, y1, x2, y2)``, pixels.

        Returns:
            ``(R, num_classes)`` logits.
        """
        if feat.dim() == 5:
            feat = feat.mean(dim=2)
        pooled = self.roi_align(feat, rois)  # (R, C, S, S)
        pooled = pooled.amax(dim=(2, 3))
        return self.fc_cls(self.dropout(pooled))

    def loss(self, logits: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        """Binary cross-entropy over the action outputs (slot 0 ignored).

        Boxes without any action label are left out, as in mmaction2.

        Args:
            logits, labels: ``(R, num_classes)``; labels multi-hot.
        """
        logits, labels = logits[:, 1:], labels[:, 1:].to(logits.dtype)
        positive = labels.sum(dim=1) > 0
        if not positive.any():  # keep the graph so every rank backwards
            return dict(loss_action_cls=logits.sum() * 0.)
        logits, labels = logits[positive], labels[positive]
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        with torch.no_grad():
            hits = (logits > 0) & (labels > 0.5)
            recall = hits.sum(1) / labels.sum(1).clamp(min=1)
        return dict(loss_action_cls=loss, recall_at_half=recall.mean())
