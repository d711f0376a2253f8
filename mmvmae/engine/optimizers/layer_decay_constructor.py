"""Layer-wise lr decay for ViT fine-tuning (BEiT/MAE/VideoMAE recipe).

mmaction2's ``LearningRateDecayOptimizerConstructor`` only accepts backbones
whose class name contains ``VisionTransformer`` (ours is ``VideoMAEViT``) and
logs one line per parameter, so this is a small rewrite of the same rule.
"""
import re
from typing import List, Optional

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmvmae.registry import OPTIM_WRAPPER_CONSTRUCTORS

_BLOCK = re.compile(r'backbone\.blocks\.(\d+)\.')
_EMBED = ('backbone.patch_embed.', 'backbone.pos_embed', 'backbone.cls_token',
          'backbone.mask_token')


def layer_id(name: str, num_layers: int) -> int:
    """Embeddings -> 0, ``backbone.blocks.i`` -> i + 1, the rest (final
    norms, heads) -> ``num_layers + 1``."""
    if name.startswith(_EMBED):
        return 0
    match = _BLOCK.match(name)
    if match:
        return int(match.group(1)) + 1
    return num_layers + 1


_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


def no_weight_decay(name: str, owner: nn.Module) -> bool:
    """Biases (q/v biases too), norms, layer scale and tokens, by name and
    owning module: not by shape, which FSDP flattens to 1-D."""
    last = name.rsplit('.', 1)[-1]
    return (isinstance(owner, _NORMS) or last.endswith('bias')
            or last.startswith('gamma') or 'token' in last
            or last == 'pos_embed')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """lr x ``decay_rate ** (num_layers + 1 - layer_id)`` per parameter.

    With L blocks, ``backbone.blocks.i`` (0-based) gets ``rate ** (L - i)``,
    the patch embedding ``rate ** (L + 1)``, heads and final norms 1. No
    weight decay on biases, norms and tokens.

    ``paramwise_cfg``:
        layer_decay_rate (float): e.g. 0.75 (0.7 on small data sets).
        num_layers (int, optional): L; by default the number of
            ``backbone.blocks`` found in the model.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'layer_decay_rate', 'num_layers'}
        if unknown or 'layer_decay_rate' not in paramwise_cfg:
            raise ValueError(
                'LayerDecayOptimWrapperConstructor: paramwise_cfg takes '
                f'layer_decay_rate (required) and num_layers, got '
                f'{sorted(paramwise_cfg)}')
        rate = paramwise_cfg['layer_decay_rate']
        if not 0 < rate <= 1:
            raise ValueError(f'paramwise_cfg.layer_decay_rate must be in '
                             f'(0, 1], got {rate}')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self, params: List[dict], module: nn.Module,
                   **kwargs) -> None:
        """Fill ``params`` with one group per (layer, decay or not)."""
        named = [(n, p) for n, p in module.named_parameters()
                 if p.requires_grad]
        owners = {id(p): m for m in module.modules()
                  for p in m.parameters(recurse=False)}
        ids = {int(m.group(1)) for m in (_BLOCK.match(n) for n, _ in named)
               if m}
        num_layers = self.paramwise_cfg.get('num_layers')
        if num_layers is None:
            if not ids:
                raise ValueError('LayerDecayOptimWrapperConstructor: no '
                                 'backbone.blocks.N parameters found; set '
                                 'paramwise_cfg.num_layers')
            num_layers = max(ids) + 1
        elif ids and max(ids) >= num_layers:
            # blocks past num_layers would get a scale above 1
            raise ValueError(
                f'paramwise_cfg.num_layers={num_layers}, but the model has '
                f'backbone.blocks.{max(ids)}: set it to at least '
                f'{max(ids) + 1}, or leave it out to count the blocks')
        rate = self.paramwise_cfg['layer_decay_rate']
        base_wd = self.base_wd or 0.
        groups = {}
        for name, param in named:
            lid = layer_id(name, num_layers)
            skip_wd = no_weight_decay(name, owners[id(param)])
            key = (lid, skip_wd)
            if key not in groups:
                scale = rate**(num_layers + 1 - lid)
                groups[key] = dict(
                    params=[], param_names=[], lr_scale=scale,
                    lr=self.base_lr * scale,
                    weight_decay=0. if skip_wd else base_wd)
            groups[key]['params'].append(param)
            groups[key]['param_names'].append(name)
        scales = {lid: g['lr_scale'] for (lid, _), g in groups.items()}
        summary = ', '.join(f'{lid}: x{scales[lid]:.3g}'
                            for lid in sorted(scales))
        print_log(f'layer-wise lr decay {rate} over {num_layers} blocks, '
                  f'lr scale per layer id {{{summary}}}', logger='current')
        params.extend(groups[key] for key in sorted(groups))
