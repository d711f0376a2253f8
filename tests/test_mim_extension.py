"""``mmvmae/.mim``: what OpenMMLab's mim (``mim search``) reads from a package.

setup.py links (editable install) or copies (wheel) ``model-index.yml`` and
``configs/`` there; a missing ``.mim`` means the install predates that step:
``pip install -e .`` again.
"""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def package_dir() -> str:
    """Where ``import mmvmae`` loads from (the source tree when editable)."""
    return importlib.util.find_spec('mmvmae').submodule_search_locations[0]


def model_index_models(mim_dir: str) -> list:
    """The models of every metafile the model-index imports, read as mim
    does: ``Import`` paths relative to the model-index (and ``Config`` paths
    relative to the ``.mim`` directory)."""
    with open(osp.join(mim_dir, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    models = []
    for metafile in index['Import']:
        with open(osp.join(mim_dir, metafile)) as f:
            models += yaml.safe_load(f)['Models']
    return models


def test_installed_package_has_mim_files():
    mim_dir = osp.join(package_dir(), '.mim')
    assert osp.isfile(osp.join(mim_dir, 'model-index.yml')), (
        f'{mim_dir}/model-index.yml missing: reinstall with pip install -e .')
    configs = [model['Config'] for model in model_index_models(mim_dir)]
    assert configs
    missing = [c for c in configs if not osp.isfile(osp.join(mim_dir, c))]
    assert not missing, f'configs in metafiles but not shipped: {missing}'
    if osp.realpath(package_dir()) == osp.realpath(osp.join(ROOT, 'mmvmae')):
        # editable: links, so the checkout's configs are the ones found
        for name in ('model-index.yml', 'configs'):
            assert osp.samefile(osp.join(mim_dir, name), osp.join(ROOT, name))


def test_wheel_build_copies_mim_files(tmp_path):
    """The non-editable path (``pip install .``): ``build_py`` copies the
    files into the build directory that the wheel is made from."""
    pytest.importorskip('setuptools')
    build = subprocess.run([sys.executable, 'setup.py', '-q', 'build_py',
                            '--build-lib', str(tmp_path)], cwd=ROOT,
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    mim_dir = tmp_path / 'mmvmae' / '.mim'
    assert not (mim_dir / 'configs').is_symlink()
    for model in model_index_models(str(mim_dir)):
        assert (mim_dir / model['Config']).is_file(), model['Config']


def test_mim_parses_model_index():
    """If openmim is installed: its own loader lists every model."""
    search = pytest.importorskip('mim.commands.search')
    from modelindex.load_model_index import load
    mim_dir = osp.join(package_dir(), '.mim')
    table = search.convert2df(load(osp.join(mim_dir, 'model-index.yml')))
    names = [model['Name'] for model in model_index_models(mim_dir)]
    assert sorted(table.index) == sorted(names)
