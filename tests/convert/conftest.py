"""Fixtures of the conversion tests."""
import importlib.util

import pytest
from tool_process import REPO_ROOT


@pytest.fixture
def hf():
    """The transformers module, or skip."""
    return pytest.importorskip('transformers')


@pytest.fixture(scope='session')
def tool_main():
    """``main`` of tools/convert_checkpoint.py, to run it in this process."""
    spec = importlib.util.spec_from_file_location(
        'convert_checkpoint_tool',
        REPO_ROOT / 'tools' / 'convert_checkpoint.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main
