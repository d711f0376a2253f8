"""Classify one video with a recognizer."""
from typing import Optional

import torch
from mmaction.structures import ActionDataSample
from torch import nn

from .video_input import VideoInput, prepare_inputs, test_pipeline_cfg


def inference_recognizer(model: nn.Module,
                         video: VideoInput,
                         pipeline: Optional[list] = None) -> ActionDataSample:
    """Class scores of one video, averaged over the test views.

    Args:
        model: a recognizer from :func:`init_model` (with ``cls_head``).
        video: a video file decord can read (any size, length or frame
            rate; a clip shorter than the sampling span loops) or frames
            ``(T, H, W, 3)`` uint8 RGB.
        pipeline: pipeline config; defaults to the config's test pipeline
            (e.g. 2 clips x 3 crops, each scored, probabilities averaged).

    Returns:
        ActionDataSample: ``pred_score`` ``(K,)`` (probabilities with
        ``average_clips='prob'``).
    """
    if not hasattr(model, 'cls_head'):
        raise TypeError('inference_recognizer needs a recognizer (a model '
                        f'with cls_head), got {type(model).__name__}; use '
                        'extract_features or reconstruct for pretraining '
                        'models')
    pipeline = pipeline or test_pipeline_cfg(model.cfg)
    data = prepare_inputs(model.cfg, video, pipeline)
    with torch.no_grad():
        return model.test_step(data)[0]
