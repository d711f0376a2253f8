"""Mask a video, let a pretraining model fill it in, return all three views."""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn

from mmvmae.datasets.transforms import RandomMasking, TubeMasking
from .features import input_size
from .video_input import VideoInput, prepare_inputs, single_view_pipeline_cfg

MASK_TYPES = {'tube': TubeMasking, 'random': RandomMasking}
MASK_GREY = 128


@dataclass
class Reconstruction:
    """One clip, masked and reconstructed; frames ``(T, H, W, 3)`` uint8 RGB.

    Attributes:
        original: the clip the model saw (after resize and centre crop).
        masked: the clip with every hidden token painted grey.
        reconstruction: visible tokens copied from ``original``, predicted
            tokens from the model (black where nothing was predicted).
        mask: ``(T', H', W')`` bool token grid, True = hidden from the
            encoder.
        predicted: ``(T', H', W')`` bool, tokens the decoder predicted.
        uses_original_patch_stats: True when predicted tokens were mapped
            back to pixels with the *original* mean/std of each patch (the
            normalised-pixel target): their brightness and colour come from
            the input, not from the model.
        mask_ratio, mask_type, patch_size, tubelet_size: how it was masked.
    """
    original: np.ndarray
    masked: np.ndarray
    reconstruction: np.ndarray
    mask: np.ndarray
    predicted: np.ndarray
    uses_original_patch_stats: bool
    mask_ratio: float
    mask_type: str
    patch_size: int
    tubelet_size: int


def draw_mask(grid: tuple, mask_ratio: float, mask_type: str,
              patch_size: int, tubelet_size: int,
              seed: Optional[int]) -> np.ndarray:
    """A ``(N,)`` bool mask from the masking transforms, with its own seed
    (the global numpy random state is left untouched)."""
    if mask_type not in MASK_TYPES:
        raise ValueError(f'mask_type must be one of {tuple(MASK_TYPES)}, got '
                         f'{mask_type!r}')
    masking = MASK_TYPES[mask_type](mask_ratio=mask_ratio,
                                    patch_size=patch_size,
                                    tubelet_size=tubelet_size)
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        return masking.generate(grid)
    finally:
        np.random.set_state(state)


def _to_frames(video: torch.Tensor) -> np.ndarray:
    """``(C, T, H, W)`` in [0, 255] -> ``(T, H, W, C)`` uint8."""
    return video.permute(1, 2, 3, 0).round().clamp(0, 255).to(
        torch.uint8).cpu().numpy()


def _expand(tokens: np.ndarray, patch_size: int,
            tubelet_size: int) -> np.ndarray:
    """``(T', H', W')`` -> ``(T, H, W)`` per-pixel values."""
    return tokens.repeat(tubelet_size, 0).repeat(patch_size, 1).repeat(
        patch_size, 2)


def reconstruct(model: nn.Module,
                video: VideoInput,
                mask_ratio: float = 0.9,
                mask_type: str = 'tube',
                seed: Optional[int] = 0) -> Reconstruction:
    """Mask one centre clip of ``video`` and reconstruct it.

    Args:
        model: a ``VideoMAE`` pretraining model from :func:`init_model`.
        video: a video file or frames ``(T, H, W, 3)`` uint8 RGB; one clip
            of the config's ``clip_len``/``frame_interval`` is taken from the
            middle and centre-cropped to the backbone's input size.
        mask_ratio: fraction of tokens hidden, in (0, 1); it must hide at
            least 1 and leave at least 1 token (of each temporal slot for
            'tube') of the clip's token grid, else ValueError.
        mask_type: 'tube' (VideoMAE) or 'random' (space-time agnostic).
        seed: seed of the mask; None draws a fresh one.

    Returns:
        Reconstruction. All hidden tokens are predicted (no V2 decoder
        masking here).
    """
    head = getattr(model, 'head', None)
    if not hasattr(model, 'neck') or not hasattr(head, 'pred_to_pixels'):
        raise TypeError('reconstruct needs a VideoMAE pretraining model '
                        '(with its decoder), got '
                        f'{type(model).__name__}')
    patch, tubelet = model.backbone.patch_size, model.backbone.tubelet_size
    pipeline = single_view_pipeline_cfg(model.cfg, input_size(model))
    data = prepare_inputs(model.cfg, video, pipeline)
    clip = data['inputs'][0][0].float()  # (C, T, H, W) in [0, 255]
    _, frames, height, width = clip.shape
    if frames % tubelet:
        raise ValueError(f'clip_len {frames} of the config is not divisible '
                         f'by tubelet_size {tubelet}')
    grid = (frames // tubelet, height // patch, width // patch)
    mask = draw_mask(grid, mask_ratio, mask_type, patch, tubelet, seed)
    data['data_samples'][0].mask = mask
    with torch.no_grad():
        sample = model.test_step(data)[0]
    original = _to_frames(clip)
    hidden = _expand(mask.reshape(grid), patch, tubelet)
    masked = original.copy()
    masked[hidden] = MASK_GREY
    return Reconstruction(
        original=original,
        masked=masked,
        reconstruction=_to_frames(sample.pred_pixels.float()),
        mask=mask.reshape(grid),
        predicted=sample.pred_token_mask.cpu().numpy().reshape(grid),
        uses_original_patch_stats=bool(
            sample.metainfo['uses_original_patch_stats']),
        mask_ratio=float(mask_ratio),
        mask_type=mask_type,
        patch_size=patch,
        tubelet_size=tubelet)
