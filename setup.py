import os
import shutil
import subprocess
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


def read_version() -> str:
    namespace = {}
    with open(os.path.join('mmvmae', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(name: str) -> list:
    with open(os.path.join('requirements', name)) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def full_mmcv_installed() -> bool:
    """Whether the target environment already has the full ``mmcv`` build.

    Asked in a fresh, isolated interpreter so that pip's build isolation does
    not hide the environment the package is installed into.
    """
    code = 'import importlib.metadata as m; m.version("mmcv")'
    result = subprocess.run([sys.executable, '-I', '-c', code],
                            capture_output=True)
    return result.returncode == 0


def mmcv_requirement() -> str:
    """mmcv-lite by default; keep a full mmcv if one is installed.

    ``MMVMAE_MMCV=full`` or ``MMVMAE_MMCV=lite`` forces the choice.
    """
    choice = os.environ.get('MMVMAE_MMCV', 'auto')
    if choice not in ('auto', 'full', 'lite'):
        raise ValueError(f'MMVMAE_MMCV must be auto, full or lite, got {choice}')
    lite = read_requirements('mminstall.txt')[0]
    if choice == 'full' or (choice == 'auto' and full_mmcv_installed()):
        return lite.replace('mmcv-lite', 'mmcv')
    return lite


def add_mim_extension(mim_dir: str, link: bool) -> None:
    """Put ``model-index.yml`` and ``configs/`` in ``mim_dir``.

    OpenMMLab's mim (``mim search mmvmae``) looks for them in
    ``<package dir>/.mim``, not at the repository root where they live.
    ``link``: relative symlinks, so that the configs a user edits are the ones
    found (editable installs); else copies (wheels).
    """
    shutil.rmtree(mim_dir, ignore_errors=True)
    os.makedirs(mim_dir)
    for name in ('model-index.yml', 'configs'):
        target = os.path.join(mim_dir, name)
        if link:
            try:
                os.symlink(os.path.relpath(name, mim_dir), target)
                continue
            except OSError:  # no symlinks (Windows without the right): copy
                pass
        if os.path.isdir(name):
            shutil.copytree(name, target,
                            ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(name, target)


class BuildPyWithMim(build_py):
    """``build_py`` that also fills ``mmvmae/.mim``.

    A wheel gets copies under the build directory. An editable (PEP 660)
    install builds with ``editable_mode`` and imports ``mmvmae`` from the
    source tree, so the links go into the source package (git-ignored).
    """

    def run(self):
        super().run()
        editable = getattr(self, 'editable_mode', False)  # setuptools >= 64
        package = 'mmvmae' if editable else os.path.join(self.build_lib,
                                                         'mmvmae')
        add_mim_extension(os.path.join(package, '.mim'), link=editable)


setup(
    name='mmvmae',
    version=read_version(),
    description='VideoMAE pretraining, fine-tuning and detection on '
    'OpenMMLab',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt') + [mmcv_requirement()],
    extras_require={
        'tests': read_requirements('tests.txt'),
        'optional': read_requirements('optional.txt'),
    },
    license='Apache-2.0',
    cmdclass={'build_py': BuildPyWithMim},
    zip_safe=False,
)
