"""RandAugment followed by a crop: compute only the pixels the crop keeps.

The crop box is chosen from the frame size alone, so it can be drawn before
the ops run; walking the ops backwards gives the box of each op's output
that the rest needs:

- pixel-wise ops (the LUT ops, Color) need the same box of their input;
- Sharpness (a 3x3 filter) needs one pixel more on each side;
- Contrast, AutoContrast and Equalize use statistics of the whole frame,
  and the geometric ops may read any input pixel: they need the whole
  frame, and compute only their output box directly.

The ops before the last whole-frame op run on whole frames; from there on,
on the crop box (plus Sharpness margins). The result equals the ops on
whole frames followed by the crop, except where OpenCV rounds Rotate's
warp coordinates differently (see ``rand_augment_cv2.py``).
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .rand_augment_cv2 import BOXED, CV2_OPS, Box

PIXELWISE = ('Invert', 'PosterizeIncreasing', 'SolarizeIncreasing',
             'SolarizeAdd', 'BrightnessIncreasing', 'ColorIncreasing')
MARGINS = {'SharpnessIncreasing': 1}


def input_box(name: str, out: Box, frame: Box) -> Box:
    """The box of op ``name``'s input needed for box ``out`` of its
    output, in a frame ``(0, 0, width, height)``."""
    if name in PIXELWISE:
        return out
    if name in MARGINS:
        grow, (left, top, right, bottom) = MARGINS[name], out
        return (max(left - grow, 0), max(top - grow, 0),
                min(right + grow, frame[2]), min(bottom + grow, frame[3]))
    return frame


def output_boxes(ops: Sequence[str], box: Box, frame: Box) -> List[Box]:
    """The box of each op's output that the ops after it and the crop
    ``box`` need."""
    boxes = [box]
    for name in reversed(ops[1:]):
        boxes.append(input_box(name, boxes[-1], frame))
    return boxes[::-1]


def _sub(clip: np.ndarray, have: Box, want: Box) -> np.ndarray:
    """Box ``want`` of ``clip``, which covers box ``have``, contiguous."""
    if want == have:
        return clip
    left, top = want[0] - have[0], want[1] - have[1]
    return np.ascontiguousarray(
        clip[:, top:top + want[3] - want[1], left:left + want[2] - want[0]])


def apply_in_box(clip: np.ndarray, ops: Sequence[Tuple[str, Optional[float]]],
                 box: Box, fill: Tuple[int, ...], interp: str,
                 owned: bool = True) -> np.ndarray:
    """``ops`` on a C-contiguous ``(T, H, W, 3)`` uint8 ``clip``, then the
    crop ``box`` (left, top, right, bottom). The ops may overwrite an
    ``owned`` clip; otherwise the clip is left as it is and copied only
    where an op would write into it (most ops first write a new box, so
    the whole clip is seldom copied)."""
    source = None if owned else clip

    def writable(array: np.ndarray) -> np.ndarray:
        if source is not None and np.may_share_memory(array, source):
            return array.copy()
        return array

    frame = (0, 0, clip.shape[2], clip.shape[1])
    have = frame  # the box of the frame that ``clip`` holds
    for (name, arg), out in zip(ops, output_boxes([n for n, _ in ops], box,
                                                  frame)):
        if name in BOXED:  # needs whole frames: ``have`` is the frame
            if out == frame:  # then the op works in place
                clip = writable(clip)
            clip = CV2_OPS[name](clip, arg, fill, interp,
                                 box=None if out == frame else out)
            clip, have = np.ascontiguousarray(clip), out
        else:
            need = input_box(name, out, frame)
            clip, have = writable(_sub(clip, have, need)), need
            clip = CV2_OPS[name](clip, arg, fill, interp)
    return writable(_sub(clip, have, box))
