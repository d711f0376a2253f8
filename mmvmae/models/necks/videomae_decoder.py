"""VideoMAE pretraining decoder: visible tokens + mask tokens -> pixels."""
from functools import partial
from typing import Dict, Optional, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmvmae.registry import MODELS
from ..utils import (Block, check_attn_impl, check_cp_mode,
                     check_linear_init, count_kept, init_transformer_weights,
                     kept_index, run_blocks, scored_last,
                     sinusoid_position_table, take_tokens)

# decoder width / heads / depth of the released recipes, keyed by encoder arch
DECODER_PRESETS: Dict[str, dict] = {
    'small': dict(in_channels=384, embed_dims=192, num_heads=3, depth=4),
    'base': dict(in_channels=768, embed_dims=384, num_heads=6, depth=4),
    'large': dict(in_channels=1024, embed_dims=512, num_heads=8, depth=12),
    'huge': dict(in_channels=1280, embed_dims=640, num_heads=8, depth=12),
}


def decoder_preset(arch: str) -> dict:
    """Decoder kwargs for an encoder arch ('small', 'base', 'large',
    'huge'), e.g. ``dict(type='VideoMAEDecoder', **decoder_preset('base'))``.
    """
    if arch not in DECODER_PRESETS:
        raise ValueError(f'arch must be one of {tuple(DECODER_PRESETS)}, got '
                         f'{arch!r}')
    return dict(DECODER_PRESETS[arch])


@MODELS.register_module()
class VideoMAEDecoder(BaseModule):
    """Pretraining decoder (a neck).

    Args:
        in_channels: encoder width.
        embed_dims, depth, num_heads, mlp_ratio: decoder transformer.
        patch_size, tubelet_size, in_pixels: the head predicts
            ``tubelet_size * patch_size**2 * in_pixels`` values per token.
        num_tokens: tokens ``N`` of the full grid (1568 = 8x14x14 for
            16x224x224 input); the size of the decoder's sinusoid table.
        norm_eps: LayerNorm eps.
        final_norm_eps: eps of the final ``norm``; defaults to ``norm_eps``
            (Hugging Face uses 1e-5 there).
        with_cp: activation checkpointing per block: False, True / 'full'
            or 'selective' (see ``VideoMAEViT``).
        attn_impl: 'sdpa' or 'eager'.
        lean_activations: keep fewer activations for the backward pass
            (see ``VideoMAEViT``).
        linear_init: 'trunc_normal' (std 0.02) or 'xavier_uniform' (the
            original pretraining decoder, which leaves ``encoder_to_decoder``
            at PyTorch's default init; the pretraining configs set it).
    """

    def __init__(self,
                 in_channels: int = 768,
                 embed_dims: int = 384,
                 depth: int = 4,
                 num_heads: int = 6,
                 mlp_ratio: float = 4.,
                 patch_size: int = 16,
                 tubelet_size: int = 2,
                 in_pixels: int = 3,
                 num_tokens: int = 1568,
                 norm_eps: float = 1e-6,
                 final_norm_eps: Optional[float] = None,
                 with_cp: Union[bool, str] = False,
                 attn_impl: str = 'sdpa',
                 lean_activations: bool = False,
                 linear_init: str = 'trunc_normal',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_attn_impl(attn_impl)
        check_linear_init(linear_init)
        check_cp_mode(with_cp)
        self.num_tokens = num_tokens
        self.with_cp = with_cp
        self.encoder_to_decoder = nn.Linear(in_channels, embed_dims,
                                            bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.register_buffer('pos_embed',
                             sinusoid_position_table(num_tokens, embed_dims),
                             persistent=False)
        self.blocks = nn.ModuleList([
            Block(embed_dims, num_heads, mlp_ratio, norm_eps=norm_eps,
                  attn_impl=attn_impl, lean_activations=lean_activations)
            for _ in range(depth)
        ])
        self.norm = nn.LayerNorm(
            embed_dims,
            eps=norm_eps if final_norm_eps is None else final_norm_eps)
        self.head = nn.Linear(embed_dims,
                              tubelet_size * patch_size**2 * in_pixels)
        self.apply(partial(init_transformer_weights, linear_init=linear_init))
        if linear_init == 'xavier_uniform':
            # the original leaves this projection at PyTorch's default init
            self.encoder_to_decoder.reset_parameters()
        nn.init.trunc_normal_(self.mask_token, std=.02)

    def forward(self,
                x_vis: Tensor,
                mask: Tensor,
                decoder_mask: Optional[Tensor] = None,
                visible_index: Optional[Tensor] = None,
                pred_index: Optional[Tensor] = None,
                num_scored: Optional[int] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """Predict pixels of the tokens the decoder reconstructs.

        Args:
            x_vis: encoder output of the visible tokens ``(B, N_vis, C_enc)``.
            mask: ``(B, N)`` bool, True = hidden from the encoder.
            decoder_mask: ``(B, N)`` bool, True = dropped by the decoder
                (V2 dual masking); None for V1.
            visible_index, pred_index: ``(B, N_vis)`` / ``(B, M)`` ascending
                positions of the visible tokens and of the tokens to predict
                (``mask`` for V1, ``~decoder_mask`` for V2), when the caller
                already built them; computed from the masks otherwise.
            num_scored: V2 only, for the loss: predict only the tokens it
                counts (decoder-kept and hidden from the encoder). The
                decoder still takes every decoder-kept token, but its last
                block and the head compute only the ``num_scored`` rows
                ordered last (the scored tokens moved behind the others);
                it must be the largest per-sample count of scored tokens,
                samples with fewer fill up with unscored rows (weight 0).

        Returns:
            ``pred (B, M, P)``, the token index of each prediction
            ``(B, M)`` and its loss weight ``(B, M)``: V1 predicts the
            masked tokens (weight 1); V2 predicts the decoder-kept tokens,
            weighted 1 where they are also hidden from the encoder (with
            ``num_scored``: the last ``num_scored`` rows of the scored-last
            order). Tokens are in ascending position order otherwise.
        """
        b, n = mask.shape
        if n != self.num_tokens:
            raise ValueError(f'mask has {n} tokens but the decoder was built '
                             f'with num_tokens={self.num_tokens}')
        if decoder_mask is not None and decoder_mask.shape != mask.shape:
            raise ValueError(f'decoder_mask must have the shape of mask '
                             f'{tuple(mask.shape)}, got '
                             f'{tuple(decoder_mask.shape)}')
        if visible_index is None:
            visible_index = self._indices(~mask, 'visible tokens')
        if x_vis.shape[1] != visible_index.shape[1]:
            raise ValueError(f'x_vis has {x_vis.shape[1]} tokens, the mask '
                             f'leaves {visible_index.shape[1]} visible')
        if pred_index is None:
            predict = mask if decoder_mask is None else ~decoder_mask
            pred_index = self._indices(predict, 'tokens to predict')
        scored = mask.gather(1, pred_index)
        m = pred_index.shape[1]
        if m == 0:
            raise ValueError('the masks leave no token to predict: every '
                             'token is visible to the encoder (mask ratio '
                             '0?) or dropped by decoder_mask')
        if num_scored is not None and decoder_mask is not None:
            if not 0 <= num_scored <= m:
                raise ValueError(f'num_scored must be in [0, {m}], got '
                                 f'{num_scored}')
            # attention does not depend on the token order
            pred_index, scored = scored_last(pred_index, scored)
            m = max(num_scored, 1)
        x = self.encoder_to_decoder(x_vis)
        pos = self.pos_embed.to(x.dtype)
        x = torch.cat([
            x + take_tokens(pos, visible_index),
            self.mask_token.to(x.dtype) + take_tokens(pos, pred_index)
        ], dim=1)
        # only the predicted tokens (the last rows) leave the last block
        x = run_blocks(self.blocks, x, self.with_cp, m)[:, -m:]
        pred = self.head(self.norm(x))
        return pred, pred_index[:, -m:], scored[:, -m:].to(pred.dtype)

    @staticmethod
    def _indices(select: Tensor, what: str) -> Tensor:
        """Indices of the True entries of ``select (B, N)`` as ``(B, K)``."""
        return kept_index(select, count_kept(select, what))
