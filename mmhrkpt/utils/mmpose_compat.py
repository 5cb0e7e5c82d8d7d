"""The one place where mmhrkpt imports mmpose.

mmpose 0.29.0 (the last 0.x release on PyPI) asserts at import time that ``mmcv<=1.7.0``. mmhrkpt
runs on mmcv-full 1.7.2, the first 1.7.x that builds against torch 2.x (1.7.0/1.7.1 force
``-std=c++14``). The bound is stale rather than real: mmpose's maintainers said the next 0.x master
works with mmcv 1.7.1 (open-mmlab/mmpose#1989), mmcv's 1.7.1 -> 1.7.2 changes are build fixes, and the
parts of mmpose this project uses (``keypoints_from_heatmaps`` with default/unbiased/udp decoding,
``TopDownGenerateTarget``, ``JointsMSELoss``, ``flip_back``) were checked on 1.7.2 and are covered by
``tests/test_utils/test_mmpose_compat.py``.

So, and only here, mmpose is imported while ``mmcv.__version__`` reads as the highest version its
assert accepts; the real version is restored immediately afterwards, whatever happens.
"""
import importlib
import sys

import mmcv

# The highest mmcv that mmpose 0.29.0's import-time check accepts.
MMPOSE_MAX_MMCV = '1.7.0'


def import_mmpose(submodule=None):
    """Import ``mmpose`` (and ``mmpose.<submodule>``) past its stale mmcv version assert.

    Args:
        submodule (str, optional): e.g. ``'models'`` or ``'core.evaluation'``.

    Returns:
        module: ``mmpose`` or the requested submodule.
    """
    if 'mmpose' not in sys.modules:
        real_version = mmcv.__version__
        mmcv.__version__ = MMPOSE_MAX_MMCV
        try:
            importlib.import_module('mmpose')
        finally:
            mmcv.__version__ = real_version
    name = 'mmpose' if submodule is None else 'mmpose.' + submodule
    return importlib.import_module(name)
