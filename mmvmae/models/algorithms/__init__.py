from .videomae import VideoMAE  # noqa: F401
