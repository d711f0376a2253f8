import pytest

from mmvmae.datasets.demo_data import ensure_demo_dataset


@pytest.fixture(scope='session')
def tiny_demo(tmp_path_factory):
    """A small demo dataset (8 train videos of 24 frames), made once."""
    root = tmp_path_factory.mktemp('demo') / 'demo'
    ensure_demo_dataset(str(root), num_train=8, num_val=4, num_frames=24)
    return root
