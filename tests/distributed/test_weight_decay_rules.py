"""The pretraining schedule's weight-decay rules go by name and module type,
so they hold under FSDP, which hands the optimizer 1-D shards of every
weight (``use_orig_params=True``)."""
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmvmae.registry import MODELS
from .helpers import DEMO


def _decayed(model, cfg) -> dict:
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(p)]: group['weight_decay']
            for group in wrapper.optimizer.param_groups
            for p in group['params']}


def test_decay_by_name_not_by_shape():
    cfg = Config.fromfile(str(DEMO))
    model = MODELS.build(cfg.model)
    decay = _decayed(model, cfg)
    # the recipe: no decay on biases, norms, q/v biases and the mask token
    for name, param in model.named_parameters():
        exempt = param.ndim == 1 or name.endswith('mask_token')
        assert decay[name] == (0. if exempt else 0.05), name
    # what FSDP does to the shapes: every parameter a flat 1-D view
    flat = MODELS.build(cfg.model)
    for module in flat.modules():
        for name, param in list(module.named_parameters(recurse=False)):
            setattr(module, name,
                    torch.nn.Parameter(param.detach().flatten()))
    assert _decayed(flat, cfg) == decay
