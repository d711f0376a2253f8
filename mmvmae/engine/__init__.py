import mmaction.engine  # noqa: F401  (mmaction2 parts this scope builds on)
from . import runner_setup  # noqa: F401
from . import optimizers  # noqa: F401
from . import hooks  # noqa: F401
from . import schedulers  # noqa: F401
