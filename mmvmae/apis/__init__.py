"""Python API: build a model, classify a video, extract encoder features,
reconstruct a masked clip (see docs/get_started.md)."""
from .features import extract_features
from .model_init import init_model, load_model_weights
from .reconstruction import Reconstruction, reconstruct
from .recognition import inference_recognizer
from .video_input import VideoReadError, check_video_file

__all__ = [
    'Reconstruction', 'VideoReadError', 'check_video_file',
    'extract_features', 'inference_recognizer', 'init_model',
    'load_model_weights', 'reconstruct'
]
