from .random_masking import RandomMasking  # noqa: F401
from .running_cell_masking import RunningCellMasking  # noqa: F401
from .tube_masking import TubeMasking  # noqa: F401
from .rand_augment import VideoRandAugment  # noqa: F401
from .random_erasing import VideoRandomErasing  # noqa: F401
from . import ava_pack_inputs, ava_video_frames  # noqa: F401
from .safe_video_decode import SafeVideoDecode  # noqa: F401
