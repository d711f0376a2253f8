"""Tiny recognizer / pretraining configs built from the demo configs, with
random weights saved as a checkpoint (for the API and tool tests)."""
from pathlib import Path
from typing import Tuple

import torch
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = REPO_ROOT / 'configs'
DEMO_FINETUNE = CONFIGS / 'finetune' / 'videomae_vit-tiny_demo-finetune.py'
DEMO_PRETRAIN = CONFIGS / 'pretrain' / 'videomae_vit-tiny_demo-pretrain.py'
SHARED_VIDEOS = REPO_ROOT / '..' / 'shared' / 'data' / 'videos'
TINY_ARCH = dict(embed_dims=32, depth=1, num_heads=2, patch_size=8)


def tiny_recognizer_cfg() -> Config:
    """Demo fine-tune config (8 frames, 64 px, 4 classes, test views 2 clips
    x 3 crops) with a 1-block 32-wide ViT and no pretrained init."""
    cfg = Config.fromfile(str(DEMO_FINETUNE))
    cfg.model.backbone.arch = dict(TINY_ARCH)
    cfg.model.backbone.init_cfg = None
    cfg.model.cls_head.in_channels = 32
    return cfg


def tiny_pretrain_cfg() -> Config:
    """Demo pretraining config (8 frames, 64 px, 8x8 patches) with a 1-block
    encoder and decoder, 32 wide, normalised-pixel target."""
    cfg = Config.fromfile(str(DEMO_PRETRAIN))
    cfg.model.backbone.arch = dict(TINY_ARCH)
    cfg.model.neck.update(in_channels=32, embed_dims=32, depth=1,
                          num_heads=2)
    cfg.model.head.norm_pix = True  # the recipe's target (the demo's is off)
    return cfg


def save_tiny(cfg: Config, folder: Path, name: str) -> Tuple[Path, Path]:
    """Build ``cfg`` with random weights (seeded), write ``name.py`` and
    ``name.pth`` (an mmengine-style checkpoint) into ``folder``."""
    from mmvmae.apis import init_model
    torch.manual_seed(0)
    model = init_model(cfg, device='cpu')
    model.init_weights()
    config_path, ckpt_path = folder / f'{name}.py', folder / f'{name}.pth'
    cfg.dump(str(config_path))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt_path)
    return config_path, ckpt_path


def write_video(path: Path, frames) -> Path:
    """``(T, H, W, 3)`` uint8 RGB frames -> an mp4 file decord reads."""
    import cv2
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (width, height))
    for frame in frames:
        writer.write(frame[..., ::-1].copy())
    writer.release()
    return path
