"""mmvmae: VideoMAE pretraining, fine-tuning and detection on OpenMMLab."""
from .utils.upstream_fixes import apply_upstream_fixes
from .version import __version__

apply_upstream_fixes()

from .utils import register_all_modules  # noqa: E402

__all__ = ['__version__', 'register_all_modules']
