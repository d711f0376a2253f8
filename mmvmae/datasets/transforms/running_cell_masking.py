"""Running-cell decoder masking of VideoMAE V2 (dual masking)."""
from typing import Tuple

import numpy as np

from mmvmae.registry import TRANSFORMS
from .masking_base import BaseMasking

# One 2x2 cell in row-major order ((0,0), (0,1), (1,0), (1,1)); True = dropped.
# Slot t uses this pattern rolled by (phase + t) % 4, so the kept pair runs
# round the cell and every position is kept in 2 of any 4 consecutive slots.
_CELL_PATTERN = np.array([False, False, True, True])


@TRANSFORMS.register_module()
class RunningCellMasking(BaseMasking):
    """Drop 2 of every 2x2 spatial cell for the decoder, shifting per slot.

    The phase (0-3) is drawn per sample with ``np.random``. Writes
    ``results['decoder_mask']``: bool ``(N,)``, True = dropped by the decoder;
    ``N/2`` tokens are kept, so every cell has 2 kept and 2 dropped. Needs
    even ``H'`` and ``W'`` (checked at construction when ``input_size`` is
    given). See :class:`BaseMasking` for the token grid.

    Args:
        mask_ratio: only 0.5 (2 of 4 per cell) is supported. Defaults to 0.5.
    """

    output_key = 'decoder_mask'

    def __init__(self, mask_ratio: float = 0.5, **kwargs) -> None:
        super().__init__(mask_ratio, **kwargs)
        if self.mask_ratio != 0.5:
            raise ValueError('RunningCellMasking supports only mask_ratio=0.5 '
                             f'(2 of 4 tokens per 2x2 cell), got {mask_ratio}')

    @staticmethod
    def cell_pattern(slot: int, phase: int) -> np.ndarray:
        """Dropped positions of a 2x2 cell at a temporal slot, ``(2, 2)``."""
        return np.roll(_CELL_PATTERN, (phase + slot) % 4).reshape(2, 2)

    def check_grid(self, grid: Tuple[int, int, int]) -> None:
        _, height, width = grid
        if height % 2 or width % 2:
            raise ValueError(
                'RunningCellMasking needs an even token grid height and '
                f"width, got (H', W')=({height}, {width})")

    def generate(self, grid: Tuple[int, int, int]) -> np.ndarray:
        self.check_grid(grid)
        num_slots, height, width = grid
        phase = np.random.randint(4)
        mask = np.stack([
            np.tile(self.cell_pattern(t, phase), (height // 2, width // 2))
            for t in range(num_slots)
        ])
        return mask.reshape(-1)
