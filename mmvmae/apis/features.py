"""Encoder features of one video."""
import torch
from torch import Tensor, nn

from .video_input import (VideoInput, prepare_inputs, single_view_pipeline_cfg,
                          test_pipeline_cfg)

VIEWS = ('single', 'test')


def input_size(model: nn.Module) -> tuple:
    """``(H, W)`` in pixels the backbone was built for."""
    backbone = model.backbone
    _, height, width = backbone.grid
    return height * backbone.patch_size, width * backbone.patch_size


def extract_features(model: nn.Module,
                     video: VideoInput,
                     views: str = 'single') -> Tensor:
    """Run the backbone (the encoder, on every token) over a video.

    Args:
        model: a recognizer or a ``VideoMAE`` pretraining model from
            :func:`init_model`.
        video: a video file or frames ``(T, H, W, 3)`` uint8 RGB.
        views: 'single': one centre clip (the config's ``clip_len`` and
            ``frame_interval``) and a centre crop of the backbone's input
            size; 'test': every view of the config's test pipeline.

    Returns:
        Tensor on CPU, one row per view ``V``, in the backbone's
        ``out_type``: ``(V, C)`` for 'avg' (mean + ``fc_norm``, recognizers),
        ``(V, N, C)`` for 'tokens' (pretraining models), ``(V, C, T', H',
        W')`` for 'featmap'.
    """
    if views not in VIEWS:
        raise ValueError(f'views must be one of {VIEWS}, got {views!r}')
    if not hasattr(model, 'backbone'):
        raise TypeError(f'{type(model).__name__} has no backbone')
    pipeline = (single_view_pipeline_cfg(model.cfg, input_size(model))
                if views == 'single' else test_pipeline_cfg(model.cfg))
    data = prepare_inputs(model.cfg, video, pipeline)
    with torch.no_grad():
        inputs = model.data_preprocessor(data, False)['inputs']
        inputs = inputs.reshape(-1, *inputs.shape[-4:])  # (B*V, C, T, H, W)
        features = model.backbone(inputs)
    if isinstance(features, (tuple, list)):
        features = features[-1]
    return features.float().cpu()
