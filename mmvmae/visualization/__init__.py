import mmaction.visualization  # noqa: F401  (mmaction2 parts this scope builds on)
from .reconstruction import reconstruction_grid, save_reconstruction_gif, save_reconstruction_png  # noqa: F401,E501
