"""Classification head of VideoMAE fine-tuning: dropout + Linear."""
from typing import Optional, Tuple, Union

import torch
from mmaction.models.heads.base import BaseHead
from mmengine.model.weight_init import trunc_normal_init
from torch import Tensor, nn

from mmvmae.registry import MODELS


@MODELS.register_module()
class VideoMAEClsHead(BaseHead):
    """Dropout + Linear on pooled backbone features.

    The backbone does the pooling (``out_type='avg'``: mean over tokens then
    ``fc_norm``), so the head takes ``(B, C)`` and returns ``(B, K)``. The
    Linear is initialised with ``trunc_normal(init_std)`` and then scaled by
    ``init_scale`` (0.001 in VideoMAE), so training starts from near-uniform
    predictions. Loss, label smoothing, soft (MixUp/CutMix) labels and
    multi-view averaging (``average_clips='prob'``: softmax per view, then
    mean) come from mmaction2's :class:`BaseHead`.

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Feature width C of the backbone.
        dropout_ratio (float): Dropout before the Linear. Defaults to 0.
        init_std (float): Std of the truncated normal init. Defaults to 0.02.
        init_scale (float): Factor applied to the initial weight and bias.
            Defaults to 0.001.
        **kwargs: ``loss_cls``, ``label_smooth_eps``, ``topk``,
            ``average_clips``, ``init_cfg`` of :class:`BaseHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 dropout_ratio: float = 0.,
                 init_std: float = 0.02,
                 init_scale: float = 0.001,
                 average_clips: Optional[str] = 'prob',
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels,
                         average_clips=average_clips, **kwargs)
        if not 0 <= dropout_ratio < 1:
            raise ValueError(
                f'dropout_ratio must be in [0, 1), got {dropout_ratio}')
        self.init_std = init_std
        self.init_scale = init_scale
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 \
            else nn.Identity()
        # `fc_cls` as in mmaction2 heads, so their checkpoints load as is
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """trunc_normal(init_std) x init_scale; bias zero."""
        trunc_normal_init(self.fc_cls, std=self.init_std, bias=0)
        with torch.no_grad():
            self.fc_cls.weight.mul_(self.init_scale)

    def forward(self, x: Union[Tensor, Tuple[Tensor]], **kwargs) -> Tensor:
        """(B, C) pooled features -> (B, K) class scores (logits)."""
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'VideoMAEClsHead expects pooled features of shape (B, '
                f'{self.in_channels}), got {tuple(x.shape)}; build the '
                "backbone with out_type='avg'")
        return self.fc_cls(self.dropout(x))
