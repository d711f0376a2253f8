"""Fixtures of the conversion tests."""
import pytest


@pytest.fixture
def hf():
    """The transformers module, or skip."""
    return pytest.importorskip('transformers')
