"""Pictures of a masked-and-reconstructed clip: a PNG grid and a GIF.

Every picture carries a caption saying how the reconstruction was made, in
particular whether the predicted patches re-use the original patch mean/std
(the normalised-pixel target does): such pictures look better than what the
model predicts on its own, and nobody should be misled by them.
"""
import textwrap
from typing import List, Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROW_NAMES = ('original', 'masked input', 'reconstruction')
BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)
WARNING = (170, 0, 0)


def describe(result) -> List[str]:
    """Caption lines for a :class:`mmvmae.apis.Reconstruction`."""
    hidden = float(result.mask.mean())
    lines = [f'{result.mask_type} masking, ratio {result.mask_ratio:.2f} '
             f'({hidden:.0%} of {result.mask.size} tokens hidden, grey); '
             f'tokens {result.tubelet_size}x{result.patch_size}x'
             f'{result.patch_size}; visible tokens are copied from the '
             'input.']
    if result.uses_original_patch_stats:
        lines.append(
            'NOTE: predicted patches are un-normalised with the ORIGINAL '
            'mean/std of each patch (normalised-pixel target): their '
            'brightness and colour come from the input, the model predicts '
            'only the normalised pattern.')
    else:
        lines.append('Predicted patches are the model\'s own pixels: no '
                     'statistics of the original patches are used.')
    return lines


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed bitmap font
        return ImageFont.load_default()


def _caption(lines: List[str], width: int, warn: bool,
             size: int = 12) -> Image.Image:
    """White band of ``width`` px with wrapped ``lines`` (the last one in
    red when ``warn``)."""
    font = _font(size)
    chars = max(20, int(width / (size * 0.55)))
    wrapped = [(part, WARNING if warn and i == len(lines) - 1 else TEXT)
               for i, line in enumerate(lines)
               for part in textwrap.wrap(line, chars)]
    band = Image.new('RGB', (width, (size + 4) * len(wrapped) + 8),
                     BACKGROUND)
    draw = ImageDraw.Draw(band)
    for row, (text, colour) in enumerate(wrapped):
        draw.text((6, 4 + row * (size + 4)), text, fill=colour, font=font)
    return band


def _stack(images: List[Image.Image]) -> Image.Image:
    width = max(image.width for image in images)
    out = Image.new('RGB', (width, sum(i.height for i in images)), BACKGROUND)
    top = 0
    for image in images:
        out.paste(image, (0, top))
        top += image.height
    return out


def _scale(frames: np.ndarray, min_side: int) -> int:
    return max(1, -(-min_side // min(frames.shape[1:3])))


def reconstruction_grid(result,
                        max_frames: int = 8,
                        min_side: int = 96,
                        gap: int = 2) -> np.ndarray:
    """Rows original / masked input / reconstruction, columns frames
    (at most ``max_frames``, evenly spread), with labels and a caption.

    Returns:
        ``(H, W, 3)`` uint8 RGB image.
    """
    rows = (result.original, result.masked, result.reconstruction)
    num = len(result.original)
    picks = np.unique(np.linspace(0, num - 1, min(max_frames, num)).round()
                      .astype(int))
    scale = _scale(result.original, min_side)
    height, width = (s * scale for s in result.original.shape[1:3])
    label_w = 110
    grid = Image.new('RGB', (label_w + len(picks) * (width + gap),
                             3 * (height + gap) + 16), BACKGROUND)
    draw = ImageDraw.Draw(grid)
    font = _font(12)
    for col, t in enumerate(picks):
        draw.text((label_w + col * (width + gap), 2), f'frame {t}',
                  fill=TEXT, font=font)
    for row, (name, frames) in enumerate(zip(ROW_NAMES, rows)):
        top = 16 + row * (height + gap)
        draw.text((4, top + height // 2 - 6), name, fill=TEXT, font=font)
        for col, t in enumerate(picks):
            tile = Image.fromarray(frames[t]).resize((width, height),
                                                     Image.NEAREST)
            grid.paste(tile, (label_w + col * (width + gap), top))
    caption = _caption(describe(result), grid.width,
                       result.uses_original_patch_stats)
    return np.asarray(_stack([grid, caption]))


def reconstruction_frames(result, min_side: int = 128) -> List[np.ndarray]:
    """One image per frame: original | masked | reconstruction side by side,
    with the caption under it. Each ``(H, W, 3)`` uint8."""
    scale = _scale(result.original, min_side)
    height, width = (s * scale for s in result.original.shape[1:3])
    images = []
    caption = None
    for t in range(len(result.original)):
        row = Image.new('RGB', (3 * width + 4, height + 16), BACKGROUND)
        draw = ImageDraw.Draw(row)
        for col, (name, frames) in enumerate(zip(ROW_NAMES, (
                result.original, result.masked, result.reconstruction))):
            draw.text((col * (width + 2) + 2, 1), f'{name} t={t}', fill=TEXT,
                      font=_font(11))
            row.paste(Image.fromarray(frames[t]).resize((width, height),
                                                         Image.NEAREST),
                      (col * (width + 2), 16))
        if caption is None:
            caption = _caption(describe(result), row.width,
                               result.uses_original_patch_stats, size=11)
        images.append(np.asarray(_stack([row, caption])))
    return images


def save_reconstruction_png(result, path: str, **kwargs) -> None:
    """Write :func:`reconstruction_grid` to ``path``."""
    Image.fromarray(reconstruction_grid(result, **kwargs)).save(path)


def save_reconstruction_gif(result, path: str, fps: float = 4.,
                            min_side: Optional[int] = 128) -> None:
    """Write :func:`reconstruction_frames` as a looping GIF."""
    frames = [Image.fromarray(f)
              for f in reconstruction_frames(result, min_side)]
    frames[0].save(path, save_all=True, append_images=frames[1:],
                   duration=int(1000 / fps), loop=0)
