"""Helpers of the conversion tests: random weights, masks, the CLI."""
import subprocess

import torch
from tool_process import REPO_ROOT, run_python


def randomize_(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter a random value (biases and norms included), so a
    tensor that lands in the wrong place or stays at zero shows up."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            noise = torch.randn(param.shape, generator=gen)
            if name.endswith('weight') and param.dim() == 1:  # LayerNorm
                param.copy_(1 + 0.2 * noise)
            else:
                param.copy_(0.2 * noise)
    return module


def random_mask(batch: int, num_tokens: int, num_masked: int,
                seed: int = 0) -> torch.Tensor:
    """``(B, N)`` bool, True = hidden, the same count in every row."""
    gen = torch.Generator().manual_seed(seed)
    order = torch.stack([torch.randperm(num_tokens, generator=gen)
                         for _ in range(batch)])
    return order < num_masked


def run_tool(*args: str) -> subprocess.CompletedProcess:
    """Run tools/convert_checkpoint.py in a process of its own."""
    return run_python(REPO_ROOT / 'tools' / 'convert_checkpoint.py', *args,
                      cwd=REPO_ROOT, timeout=120)
