"""Space-time agnostic random masking (MAE-ST, Feichtenhofer et al. 2022)."""
from typing import Tuple

import numpy as np

from mmvmae.registry import TRANSFORMS
from .masking_base import BaseMasking


@TRANSFORMS.register_module()
class RandomMasking(BaseMasking):
    """Mask exactly ``int(mask_ratio * N)`` tokens anywhere in space-time.

    Writes ``results['mask']``: bool ``(N,)``, True = hidden from the encoder;
    every sample has the same visible count. Uses ``np.random``. See
    :class:`BaseMasking` for the token grid.

    Args:
        mask_ratio: fraction of all tokens masked, in (0, 1); it must mask
            at least 1 and leave at least 1 of the ``N`` tokens. Defaults to
            0.9.
    """

    def __init__(self, mask_ratio: float = 0.9, **kwargs) -> None:
        super().__init__(mask_ratio, **kwargs)

    def num_masked(self, grid: Tuple[int, int, int]) -> int:
        """Tokens masked per clip, ``int(mask_ratio * N)``."""
        return self._num_masked(int(np.prod(grid)),
                                f"the clip (T', H', W')={tuple(grid)}")

    def check_grid(self, grid: Tuple[int, int, int]) -> None:
        self.num_masked(grid)

    def generate(self, grid: Tuple[int, int, int]) -> np.ndarray:
        num_tokens = int(np.prod(grid))
        mask = np.zeros(num_tokens, dtype=bool)
        mask[np.random.permutation(num_tokens)[:self.num_masked(grid)]] = True
        return mask
