"""VideoMAE ViT encoder: tubelet tokens, fixed sinusoid table, no cls token."""
from functools import partial
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmvmae.registry import MODELS
from ..utils import (Block, PatchEmbed3d, check_attn_impl, check_cp_mode,
                     check_linear_init, count_kept, init_transformer_weights,
                     interpolate_position_table, kept_index, run_blocks,
                     sinusoid_position_table, take_tokens)

ARCH_SETTINGS: Dict[str, dict] = {
    'small': dict(embed_dims=384, depth=12, num_heads=6, mlp_ratio=4.,
                  patch_size=16),
    'base': dict(embed_dims=768, depth=12, num_heads=12, mlp_ratio=4.,
                 patch_size=16),
    'large': dict(embed_dims=1024, depth=24, num_heads=16, mlp_ratio=4.,
                  patch_size=16),
    'huge': dict(embed_dims=1280, depth=32, num_heads=16, mlp_ratio=4.,
                 patch_size=16),
    'giant': dict(embed_dims=1408, depth=40, num_heads=16, mlp_ratio=48 / 11,
                  patch_size=14),
}
OUT_TYPES = ('tokens', 'avg', 'featmap')
_ARCH_KEYS = ('embed_dims', 'depth', 'num_heads', 'mlp_ratio', 'patch_size')


def _pair(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f'{name} must be an int or (H, W), got {size!r}')


def _resolve_arch(arch: Union[str, dict]) -> dict:
    if isinstance(arch, str):
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'arch must be one of {tuple(ARCH_SETTINGS)} or '
                             f'a dict with keys {_ARCH_KEYS}, got {arch!r}')
        return dict(ARCH_SETTINGS[arch])
    if isinstance(arch, dict):
        missing = {'embed_dims', 'depth', 'num_heads'} - set(arch)
        unknown = set(arch) - set(_ARCH_KEYS)
        if missing or unknown:
            raise ValueError(f'arch dict needs embed_dims, depth, num_heads '
                             f'(optional mlp_ratio, patch_size); missing '
                             f'{sorted(missing)}, unknown {sorted(unknown)}')
        return dict(dict(mlp_ratio=4., patch_size=16), **arch)
    raise ValueError(f'arch must be a str or dict, got {type(arch).__name__}')


@MODELS.register_module()
class VideoMAEViT(BaseModule):
    """VideoMAE vision transformer.

    Args:
        arch: 'small', 'base', 'large', 'huge', 'giant' (V2, patch 14) or a
            dict with ``embed_dims, depth, num_heads`` (+ ``mlp_ratio``,
            ``patch_size``).
        img_size: input ``H = W`` or ``(H, W)``.
        num_frames: input frames ``T``.
        tubelet_size: frames per token.
        patch_size: pixels per token side; from ``arch`` when None.
        in_channels: input channels.
        qkv_bias: learn q/v biases.
        drop_rate, attn_drop_rate: dropout after position / projections and
            on attention weights.
        drop_path_rate: stochastic depth of the last block, linear over depth.
        layer_scale_init_value: ``gamma_1/gamma_2`` init; 0 disables them.
        norm_eps: LayerNorm eps.
        final_norm_eps: eps of the final ``norm`` / ``fc_norm``; defaults to
            ``norm_eps`` (Hugging Face classifiers use 1e-5 for ``fc_norm``).
        out_type: 'tokens' ``(B, N, C)``, 'avg' ``(B, C)`` (mean then
            ``fc_norm``) or 'featmap' ``(B, C, T', H', W')``.
        with_cp: activation checkpointing per block: False, True / 'full'
            (keep block inputs only) or 'selective' (keep matmul and
            attention outputs, recompute the cheap ops).
        attn_impl: 'sdpa' or 'eager'.
        lean_activations: keep fewer activations for the backward pass
            (LayerNorm fused with the next product, GELU recomputed; see
            ``models/utils/lean_activations.py``); the same results.
        pos_embed_size: ``(frames, img_size)`` the sinusoid table is built
            for; other input grids interpolate it. Defaults to
            ``(num_frames, img_size)``.
        linear_init: init of the Linear weights: 'trunc_normal' (std 0.02,
            the fine-tuning model) or 'xavier_uniform' (the pretraining
            encoder; the pretraining configs set it).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 img_size: Union[int, Sequence[int]] = 224,
                 num_frames: int = 16,
                 tubelet_size: int = 2,
                 patch_size: Optional[int] = None,
                 in_channels: int = 3,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 0.,
                 norm_eps: float = 1e-6,
                 final_norm_eps: Optional[float] = None,
                 out_type: str = 'tokens',
                 with_cp: Union[bool, str] = False,
                 attn_impl: str = 'sdpa',
                 lean_activations: bool = False,
                 pos_embed_size: Optional[Sequence] = None,
                 linear_init: str = 'trunc_normal',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_linear_init(linear_init)
        settings = _resolve_arch(arch)
        patch_size = patch_size or settings['patch_size']
        self.embed_dims = settings['embed_dims']
        self.num_layers = settings['depth']
        self.patch_size, self.tubelet_size = patch_size, tubelet_size
        self._check_config(out_type, attn_impl, drop_rate, attn_drop_rate,
                           drop_path_rate)
        self.out_type = out_type
        check_cp_mode(with_cp)
        self.with_cp = with_cp
        self.grid = self._grid(num_frames, img_size, 'num_frames/img_size')
        if pos_embed_size is None:
            pos_embed_size = (num_frames, img_size)
        if len(pos_embed_size) != 2:
            raise ValueError('pos_embed_size must be (frames, img_size), '
                             f'got {pos_embed_size!r}')
        self.pos_grid = self._grid(*pos_embed_size, 'pos_embed_size')

        self.patch_embed = PatchEmbed3d(in_channels, self.embed_dims,
                                        patch_size, tubelet_size)
        num_pos = self.pos_grid[0] * self.pos_grid[1] * self.pos_grid[2]
        self.register_buffer(
            'pos_embed', sinusoid_position_table(num_pos, self.embed_dims),
            persistent=False)
        self._pos_cache: Dict[tuple, Tensor] = {}
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = [drop_path_rate * i / max(self.num_layers - 1, 1)
               for i in range(self.num_layers)]  # linear over depth
        self.blocks = nn.ModuleList([
            Block(self.embed_dims, settings['num_heads'],
                  settings['mlp_ratio'], qkv_bias, drop_rate, attn_drop_rate,
                  dpr[i], layer_scale_init_value, norm_eps, attn_impl,
                  lean_activations)
            for i in range(self.num_layers)
        ])
        final_norm_eps = norm_eps if final_norm_eps is None else final_norm_eps
        if out_type == 'avg':
            self.fc_norm = nn.LayerNorm(self.embed_dims, eps=final_norm_eps)
        else:
            self.norm = nn.LayerNorm(self.embed_dims, eps=final_norm_eps)
        self.apply(partial(init_transformer_weights, linear_init=linear_init))
        self.patch_embed.reset_parameters()

    @staticmethod
    def _check_config(out_type, attn_impl, *rates) -> None:
        if out_type not in OUT_TYPES:
            raise ValueError(f'out_type must be one of {OUT_TYPES}, got '
                             f'{out_type!r}')
        check_attn_impl(attn_impl)
        names = ('drop_rate', 'attn_drop_rate', 'drop_path_rate')
        for name, rate in zip(names, rates):
            if not 0 <= rate < 1:
                raise ValueError(f'{name} must be in [0, 1), got {rate}')

    def _grid(self, frames: int, size, field: str) -> Tuple[int, int, int]:
        h, w = _pair(size, field)
        if frames % self.tubelet_size or h % self.patch_size or \
                w % self.patch_size:
            raise ValueError(
                f'{field}: frames {frames} must be divisible by tubelet_size '
                f'{self.tubelet_size} and size {(h, w)} by patch_size '
                f'{self.patch_size}')
        return (frames // self.tubelet_size, h // self.patch_size,
                w // self.patch_size)

    def position_table(self, grid: Tuple[int, int, int]) -> Tensor:
        """The ``(1, N, C)`` table for a token grid, interpolated (and
        cached) when it differs from ``pos_embed_size``."""
        grid = tuple(grid)
        if grid == self.pos_grid:
            return self.pos_embed
        key = (grid, self.pos_embed.device, self.pos_embed.dtype)
        if key not in self._pos_cache:
            self._pos_cache[key] = interpolate_position_table(
                self.pos_embed, self.pos_grid, grid)
        return self._pos_cache[key]

    def get_layer_depth(self, param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer depth of a parameter for layer-wise lr decay.

        ``patch_embed``/``pos_embed`` -> 0, ``blocks.i`` -> ``i + 1``, the
        rest (norms, anything outside ``prefix``) -> ``num_layers + 1``.

        Returns:
            ``(layer_depth, num_layers + 2)``.
        """
        total = self.num_layers + 2
        if not param_name.startswith(prefix):
            return total - 1, total
        name = param_name[len(prefix):]
        if name.startswith(('patch_embed', 'pos_embed')):
            return 0, total
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, total
        return total - 1, total

    def forward(self, x: Tensor, mask: Optional[Tensor] = None,
                visible_index: Optional[Tensor] = None) -> Tensor:
        """Encode a video.

        Args:
            x: ``(B, C, T, H, W)``.
            mask: ``(B, N)`` bool, True = hidden; only the visible tokens
                (the same count in every sample) are embedded and encoded.
            visible_index: ``(B, N_vis)`` ascending positions of the visible
                tokens, when the caller already has them (see
                :func:`kept_index`); saves reading the count back from the
                device and gives static shapes under ``torch.compile``.

        Returns:
            Tensor: per ``out_type``: ``(B, N_vis or N, C)``, ``(B, C)`` or
            ``(B, C, T', H', W')``.
        """
        if mask is not None and visible_index is None:
            visible_index = self._visible_index(x, mask)
        if visible_index is None:
            x, grid = self.patch_embed(x)
            x = x + self.position_table(grid).to(x.dtype)
        else:
            if self.out_type == 'featmap':
                raise ValueError("out_type='featmap' needs every token; "
                                 'got a mask')
            x, grid = self.patch_embed(x, visible_index)
            pos = self.position_table(grid).to(x.dtype)
            x = x + take_tokens(pos, visible_index)
        x = self.pos_drop(x)
        x = run_blocks(self.blocks, x, self.with_cp)
        if self.out_type == 'avg':
            return self.fc_norm(x.mean(dim=1))
        x = self.norm(x)
        if self.out_type == 'featmap':
            return x.transpose(1, 2).reshape(x.shape[0], -1, *grid)
        return x

    def _visible_index(self, x: Tensor, mask: Tensor) -> Tensor:
        b = x.shape[0]
        grid = self._grid(x.shape[2], tuple(x.shape[3:]), 'input')
        n = grid[0] * grid[1] * grid[2]
        if mask.shape != (b, n) or mask.dtype != torch.bool:
            raise ValueError(f'mask must be a bool tensor of shape {(b, n)}, '
                             f'got {mask.dtype} {tuple(mask.shape)}')
        visible = ~mask
        return kept_index(visible, count_kept(visible, 'visible tokens'))
