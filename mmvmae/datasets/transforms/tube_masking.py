"""Tube masking of VideoMAE: one spatial mask shared by all temporal slots."""
from typing import Tuple

import numpy as np

from mmvmae.registry import TRANSFORMS
from .masking_base import BaseMasking


@TRANSFORMS.register_module()
class TubeMasking(BaseMasking):
    """Mask the same ``int(mask_ratio * H'W')`` positions in every slot.

    Each temporal slot keeps ``H'W' - int(mask_ratio * H'W')`` tokens: at
    ratio 0.9 on a 14x14 grid that is 20 per slot, 160 of 1568 for 16x224
    clips; at 0.75, 49 per slot. Uses ``np.random`` so mmengine's seeding
    makes it reproducible. Writes ``results['mask']``: bool ``(N,)``, True =
    hidden from the encoder. See :class:`BaseMasking` for the token grid.

    Args:
        mask_ratio: fraction of positions masked per slot, in (0, 1); it
            must mask at least 1 and leave at least 1 of the ``H'W'``
            positions. Defaults to 0.9.
    """

    def __init__(self, mask_ratio: float = 0.9, **kwargs) -> None:
        super().__init__(mask_ratio, **kwargs)

    def num_masked(self, grid: Tuple[int, int, int]) -> int:
        """Positions masked per slot, ``int(mask_ratio * H'W')``."""
        _, height, width = grid
        return self._num_masked(
            height * width,
            f"a temporal slot (H', W')=({height}, {width})")

    def check_grid(self, grid: Tuple[int, int, int]) -> None:
        self.num_masked(grid)

    def generate(self, grid: Tuple[int, int, int]) -> np.ndarray:
        num_slots, height, width = grid
        num_spatial = height * width
        spatial = np.zeros(num_spatial, dtype=bool)
        spatial[np.random.permutation(num_spatial)[:self.num_masked(
            grid)]] = True
        return np.tile(spatial, num_slots)
