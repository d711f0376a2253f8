from .videomae_cls_head import VideoMAEClsHead  # noqa: F401
from .videomae_pretrain_head import VideoMAEPretrainHead  # noqa: F401
