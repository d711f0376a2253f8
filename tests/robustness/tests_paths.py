"""Paths the robustness tests share."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = str(REPO_ROOT / 'configs' / 'pretrain' /
                  'videomae_vit-tiny_demo-pretrain.py')
