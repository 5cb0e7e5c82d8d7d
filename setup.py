"""mmhrkpt: HRNet Keypoint R-CNN for mmdet 2.x / mmpose 0.x."""
import os.path as osp
import re

from setuptools import find_packages, setup


def read_version():
    text = open(osp.join(osp.dirname(__file__), 'mmhrkpt', 'version.py')).read()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


def read_requirements(path):
    """Requirement lines of ``requirements/<path>``, without comments."""
    lines = open(osp.join(osp.dirname(__file__), 'requirements', path)).read().splitlines()
    return [ln.split('#')[0].strip() for ln in lines if ln.split('#')[0].strip()]


setup(
    name='mmhrkpt',
    version=read_version(),
    description='HRNet Keypoint R-CNN: Gaussian-heatmap keypoint RoI head with DARK/UDP decoding '
    'for mmdet 2.x',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'demo')),
    license='Apache License 2.0',
    python_requires='>=3.8',
    # torch, torchvision, mmcv-full and mmpose are installed by tools/setup_env.sh (see README).
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'deploy': read_requirements('deploy.txt')
    },
    zip_safe=False,
)
