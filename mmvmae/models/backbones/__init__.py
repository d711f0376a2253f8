from .videomae_vit import VideoMAEViT  # noqa: F401
