import mmaction.evaluation  # noqa: F401  (mmaction2 parts this scope builds on)
from . import metrics  # noqa: F401,E402
