"""What a conversion did: mapped keys, dropped keys (and why), notes."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple


class ConversionError(ValueError):
    """A checkpoint could not be converted faithfully (nothing is written)."""


@dataclass
class ConversionReport:
    """Collects what a converter did, for printing and for ``meta``."""

    source_format: str = 'unknown'
    mapped: List[Tuple[str, str]] = field(default_factory=list)
    dropped: List[Tuple[str, str]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def map(self, src: str, dst: str) -> None:
        self.mapped.append((src, dst))

    def drop(self, key: str, reason: str) -> None:
        self.dropped.append((key, reason))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def format(self, verbose: bool = False) -> str:
        """A human-readable summary; ``verbose`` lists every mapped key."""
        lines = [f'detected format: {self.source_format}',
                 f'mapped {len(self.mapped)} tensors']
        if verbose:
            lines += [f'  {src} -> {dst}' for src, dst in self.mapped]
        else:
            lines += [f'  {src} -> {dst}'
                      for src, dst in _collapse_blocks(self.mapped)]
        lines.append(f'dropped {len(self.dropped)} tensors')
        lines += [f'  {key}: {reason}' for key, reason in self.dropped]
        lines += [f'note: {text}' for text in self.notes]
        return '\n'.join(lines)

    def to_meta(self) -> Dict:
        return dict(source_format=self.source_format,
                    dropped=[f'{k}: {r}' for k, r in self.dropped],
                    notes=list(self.notes))


def _collapse_blocks(pairs: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """Show block-level mappings once, with the block index as ``N``."""
    import re
    seen, out = set(), []
    for src, dst in pairs:
        short = (re.sub(r'\.(\d+)\.', '.N.', src, count=1),
                 re.sub(r'\.(\d+)\.', '.N.', dst, count=1))
        if short not in seen:
            seen.add(short)
            out.append(short)
    return out


def fail_on_leftovers(leftover: Dict, fmt: str,
                      hint: Optional[str] = None) -> None:
    """Raise if a converter could not place some source keys."""
    if not leftover:
        return
    keys = sorted(leftover)
    shown = ', '.join(keys[:10]) + (' ...' if len(keys) > 10 else '')
    msg = (f'{len(keys)} key(s) of the {fmt} checkpoint have no place in '
           f'an mmvmae model: {shown}')
    if hint:
        msg += f'. {hint}'
    raise ConversionError(msg)
