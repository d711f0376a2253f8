"""The default data preprocessor of mmvmae's models."""
import copy
from typing import Optional, Union

from torch import nn

from mmvmae.registry import MODELS

# ImageNet mean/std on the [0, 255] scale, clips as (N, C, T, H, W): what
# VideoMAE's loss target un-normalises (VIDEOMAE.md, loss step 1).
VIDEO_DATA_PREPROCESSOR = dict(
    type='ActionDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    format_shape='NCTHW')


def default_data_preprocessor() -> dict:
    """A fresh copy of :data:`VIDEO_DATA_PREPROCESSOR`."""
    return copy.deepcopy(VIDEO_DATA_PREPROCESSOR)


def build_data_preprocessor(cfg: Optional[Union[dict, nn.Module]]
                            ) -> nn.Module:
    """The preprocessor module of a model: ``None`` -> the default.

    Built from mmvmae's registry, so mmaction2's preprocessor resolves
    without a default scope: ``BaseModel`` given a dict builds it from
    mmengine's root registry, which does not know mmaction2's parts.
    """
    if cfg is None:
        cfg = default_data_preprocessor()
    if isinstance(cfg, dict):
        cfg = MODELS.build(cfg)
    return cfg
