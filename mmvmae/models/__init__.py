import mmaction.models  # noqa: F401  (mmaction2 parts this scope builds on)
from . import algorithms, backbones, heads, necks  # noqa: F401,E402
from . import detectors  # noqa: F401,E402
