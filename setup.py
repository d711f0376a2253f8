import os
import subprocess
import sys

from setuptools import find_packages, setup


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
    zip_safe=False,
)
