import mmaction.datasets  # noqa: F401  (mmaction2 parts this scope builds on)
from . import transforms  # noqa: F401
from .demo_dataset import DemoVideoDataset  # noqa: F401
from .repeated_sampling_dataset import RepeatedSamplingDataset  # noqa: F401
from .video_list_dataset import VideoListDataset  # noqa: F401
from . import ava_video_dataset, demo_ava  # noqa: F401
from .robust_seeding import SampleSeededDataset, SampleSeededSampler  # noqa: F401
