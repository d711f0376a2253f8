"""VideoMAE pretraining: encoder on visible tokens, decoder, pixel loss."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from mmvmae.registry import MODELS
from ..utils import (build_data_preprocessor, count_kept, kept_index,
                     unpatchify)

ForwardResults = Union[Dict[str, Tensor], List, Tensor]


@MODELS.register_module()
class VideoMAE(BaseModel):
    """VideoMAE (V1 tube masking; V2 dual masking when the data samples
    carry a ``decoder_mask``).

    Args:
        backbone: ``VideoMAEViT`` config (``out_type='tokens'``).
        neck: ``VideoMAEDecoder`` config.
        head: ``VideoMAEPretrainHead`` config.
        data_preprocessor: defaults to ``ActionDataPreprocessor`` with the
            ImageNet mean/std on the ``[0, 255]`` scale, ``NCTHW``.

    Data samples carry ``mask`` (``(N,)`` bool, True = hidden) and optionally
    ``decoder_mask`` (True = dropped by the decoder), as packed by
    ``PackActionInputs(algorithm_keys=('mask', 'decoder_mask'))``.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.head = MODELS.build(head)
        self._check_normalisation()

    def _check_normalisation(self) -> None:
        """The head undoes the preprocessor's normalisation (the pixel
        target, the pictures of ``predict``): their mean/std must agree."""
        pre = self.data_preprocessor
        if getattr(self.head, 'mean', None) is None or \
                not hasattr(pre, '_enable_normalize'):
            return
        head = self.head.mean.flatten(), self.head.std.flatten()
        if pre._enable_normalize:
            given = pre.mean.flatten(), pre.std.flatten()
        else:  # raw [0, 255] inputs
            given = torch.zeros_like(head[0]), torch.ones_like(head[1])
        if any(t.is_meta for t in head + given):  # no values to compare
            return
        if given[0].shape != head[0].shape or not all(
                torch.allclose(a, b) for a, b in zip(given, head)):
            raise ValueError(
                f'head mean/std {head[0].tolist()} / {head[1].tolist()} must '
                'equal those the data_preprocessor normalises with, '
                f'{given[0].tolist()} / {given[1].tolist()}: the head undoes '
                'that normalisation')

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[Sequence] = None,
                mode: str = 'tensor') -> ForwardResults:
        """Run the model.

        Args:
            inputs: ``(B, 1, C, T, H, W)`` (mmaction2 ``NCTHW`` with one
                clip) or ``(B, C, T, H, W)``.
            data_samples: with ``mask`` (and optionally ``decoder_mask``).
            mode: 'loss' -> ``dict(loss=...)``; 'predict' -> data samples
                with ``pred_pixels`` ``(C, T, H, W)`` in ``[0, 255]``;
                'tensor' -> raw predictions ``(B, M, P)``.
        """
        if mode not in ('loss', 'predict', 'tensor'):
            raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', "
                             f'got {mode!r}')
        video = self._video(inputs)
        mask, num_visible, decoder_mask, num_kept, num_scored = \
            self._host_masks(data_samples, mode == 'loss')
        mask = mask.to(video.device, non_blocking=True)
        if decoder_mask is not None:
            decoder_mask = decoder_mask.to(video.device, non_blocking=True)
        # token indices built once, on the device, with static sizes
        visible_index = kept_index(~mask, num_visible)
        pred_index = kept_index(mask, mask.shape[1] - num_visible) \
            if decoder_mask is None else kept_index(~decoder_mask, num_kept)
        x_vis = self.backbone(video, visible_index=visible_index)
        pred, index, weight = self.neck(x_vis, mask, decoder_mask,
                                        visible_index, pred_index,
                                        num_scored)
        if mode == 'loss':
            return self.head.loss(pred, video, index, weight)
        if mode == 'tensor':
            return pred
        return self._pack(video, mask, pred, index, weight, data_samples)

    @staticmethod
    def _video(inputs: Tensor) -> Tensor:
        if inputs.ndim == 6:
            if inputs.shape[1] != 1:
                raise ValueError(
                    f'pretraining takes one clip per sample (num_clips=1), '
                    f'got inputs {tuple(inputs.shape)}')
            return inputs[:, 0]
        if inputs.ndim != 5:
            raise ValueError('inputs must be (B, 1, C, T, H, W) or '
                             f'(B, C, T, H, W), got {tuple(inputs.shape)}')
        return inputs

    @staticmethod
    @torch.compiler.disable  # host decisions: kept out of compiled graphs
    def _host_masks(data_samples: Optional[Sequence], loss: bool) -> tuple:
        """The batch's masks stacked where the pipeline left them (numpy
        fields on the host) and their counts: ``(mask, visible tokens,
        decoder_mask or None, decoder-kept tokens, scored tokens or None)``.
        The last is the largest per-sample count of tokens the V2 loss
        counts (hidden from the encoder, kept by the decoder), for
        ``loss``."""
        mask, num_visible = VideoMAE._stack(data_samples, 'mask')
        if mask is None:
            raise ValueError(
                'data_samples need a `mask` field; add a masking transform '
                "and PackActionInputs(algorithm_keys=('mask', ...))")
        decoder_mask, num_kept = VideoMAE._stack(data_samples, 'decoder_mask')
        num_scored = None
        if decoder_mask is not None and loss:
            num_scored = int((mask & ~decoder_mask).sum(dim=1).max())
        return mask, num_visible, decoder_mask, num_kept, num_scored

    @staticmethod
    def _stack(data_samples: Optional[Sequence],
               key: str) -> Tuple[Optional[Tensor], int]:
        """Stack the ``(N,)`` bool field ``key`` of every sample to
        ``(B, N)`` (on the host for numpy fields) and count its False
        entries per sample (checked equal); ``(None, 0)`` when no sample
        has it."""
        if not data_samples:
            return None, 0
        has = [key in sample for sample in data_samples]
        if not any(has):
            return None, 0
        if not all(has):
            raise ValueError(f'`{key}` is set in some data samples only')
        values = [getattr(sample, key) for sample in data_samples]
        if all(isinstance(v, np.ndarray) for v in values):
            stacked = torch.from_numpy(np.stack(values))
        else:
            stacked = torch.stack([torch.as_tensor(v) for v in values])
        if stacked.dtype != torch.bool or stacked.ndim != 2:
            raise ValueError(f'`{key}` must be a bool array of shape (N,) '
                             f'per sample, got {stacked.dtype} with batch '
                             f'shape {tuple(stacked.shape)}')
        what = 'visible tokens' if key == 'mask' else f'tokens kept by {key}'
        return stacked, count_kept(~stacked, what)

    def _pack(self, video: Tensor, mask: Tensor, pred: Tensor, index: Tensor,
              weight: Tensor, data_samples: Sequence) -> List:
        """Reconstruction in pixel space: visible tokens keep the input,
        tokens hidden and predicted get the prediction, hidden tokens the
        decoder dropped (V2) are black."""
        head = self.head
        original = head.patch_pixels(video)  # (B, N, L, C) in [0, 1]
        full = pred.new_zeros(*mask.shape, pred.shape[-1])
        full.scatter_(1, index[..., None].expand_as(pred), pred)
        predicted = head.pred_to_pixels(full, video)
        replaced = torch.zeros_like(mask).scatter_(1, index, weight > 0)
        pixels = torch.where(replaced[..., None, None], predicted,
                             original * (~mask)[..., None, None])
        _, _, t, h, w = video.shape
        grid = (t // head.tubelet_size, h // head.patch_size,
                w // head.patch_size)
        pixels = unpatchify(pixels, head.patch_size, head.tubelet_size, grid)
        pixels = (pixels * 255.).clamp(0, 255)
        for i, sample in enumerate(data_samples):
            sample.pred_pixels = pixels[i]
            sample.mask = mask[i]
            sample.pred_token_mask = replaced[i]
            sample.set_metainfo(
                dict(uses_original_patch_stats=bool(head.norm_pix)))
        return list(data_samples)
