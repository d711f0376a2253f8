import os
from pathlib import Path

import pytest
import torch

import mmvmae

# The suite is meant for 2 CPU cores: keep torch from oversubscribing them.
torch.set_num_threads(min(2, os.cpu_count() or 1))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'


@pytest.fixture(scope='session', autouse=True)
def _registered():
    mmvmae.register_all_modules()


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """A ``Runner`` makes its ``default_scope`` mmengine's current scope,
    which then redirects every later registry build (some tests build
    runners with ``default_scope='mmengine'``): each test leaves the scopes
    as it found them."""
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    yield
    for name in set(DefaultScope._instance_dict) - before:
        del DefaultScope._instance_dict[name]


@pytest.fixture(scope='session')
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real test data not found at {SHARED_DATA}')
    return SHARED_DATA
