from .videomae_decoder import VideoMAEDecoder  # noqa: F401
