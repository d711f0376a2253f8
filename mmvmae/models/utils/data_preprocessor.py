"""The default data preprocessor of mmvmae's models."""
import copy

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
