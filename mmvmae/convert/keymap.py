"""Rule-based key renaming and the checks every source format shares."""
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from mmvmae.models.utils.position_embedding import sinusoid_position_table

from .report import ConversionError, ConversionReport

# (source regex, mmvmae template or None to drop, reason when dropped)
Rule = Tuple[str, Optional[str], str]

# the parts of a transformer block whose names are the same in the original
# VideoMAE code and in mmvmae
BLOCK_PARTS = (r'((?:norm1|norm2|attn\.proj|mlp\.fc1|mlp\.fc2)'
               r'\.(?:weight|bias)|attn\.qkv\.weight|attn\.q_bias'
               r'|attn\.v_bias|gamma_1|gamma_2)')
NORM_PARTS = r'(weight|bias)'


def rename_keys(state: Dict[str, torch.Tensor], rules: Sequence[Rule],
                report: ConversionReport) -> Tuple[Dict, Dict]:
    """Apply the first matching rule to every key.

    Returns:
        ``(renamed, leftover)``: the mmvmae state dict and the source keys no
        rule matched (the caller fails on them).
    """
    compiled = [(re.compile(src), dst, why) for src, dst, why in rules]
    renamed, leftover = {}, {}
    for key, value in state.items():
        for pattern, template, why in compiled:
            match = pattern.fullmatch(key)
            if match is None:
                continue
            if template is None:
                report.drop(key, why)
            else:
                new_key = match.expand(template)
                if new_key in renamed:
                    raise ConversionError(
                        f'two source keys map to {new_key!r} (second: '
                        f'{key!r}); the checkpoint mixes layouts')
                renamed[new_key] = value
                report.map(key, new_key)
            break
        else:
            leftover[key] = value
    return renamed, leftover


def check_fixed_pos_embed(key: str, value: torch.Tensor,
                          report: ConversionReport) -> None:
    """Drop a stored position table if it is the fixed sinusoid, else fail.

    mmvmae rebuilds the table from the input size, so a stored copy carries
    no information; a learned table would, and mmvmae has no place for it.
    """
    table = value.detach().float().reshape(-1, value.shape[-1])
    expected = sinusoid_position_table(*table.shape)[0]
    if not torch.allclose(table, expected, atol=1e-4, rtol=0):
        err = (table - expected).abs().max().item()
        raise ConversionError(
            f'{key} {tuple(value.shape)} is not the fixed sinusoid table '
            f'(max abs difference {err:.3g}): a learned position embedding '
            'has no place in VideoMAEViT, which uses the fixed table')
    report.drop(key, f'fixed sinusoid table {tuple(table.shape)} (verified '
                'equal); mmvmae rebuilds it for the input size')


def merge_qkv(weights: List[torch.Tensor]) -> torch.Tensor:
    """Stack query, key and value weights ``(C, C)`` into ``(3C, C)``."""
    return torch.cat(weights, dim=0)


def split_qkv(weight: torch.Tensor) -> List[torch.Tensor]:
    """Split a ``(3C, C)`` qkv weight into query, key and value weights."""
    return [w.clone() for w in weight.chunk(3, dim=0)]
