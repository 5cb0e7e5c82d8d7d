"""Versions of the stack, for tools/misc/collect_env.py and bug reports."""
import sys
from collections import OrderedDict


def collect_env():
    """Return an ordered dict of the versions mmhrkpt depends on.

    Keys: Python, PyTorch, PyTorch CUDA, GPU available, TorchVision, MMCV, MMCV ops compiled,
    MMCV CUDA ops, MMDetection, MMPose, NumPy, OpenCV, mmhrkpt.
    """
    import cv2
    import mmcv
    import mmdet
    import numpy as np
    import torch
    import torchvision

    from mmhrkpt.utils.mmpose_compat import import_mmpose
    from mmhrkpt.version import __version__

    env = OrderedDict()
    env['Python'] = sys.version.replace('\n', '')
    env['PyTorch'] = torch.__version__
    env['PyTorch CUDA'] = torch.version.cuda or 'none (CPU build)'
    env['GPU available'] = torch.cuda.is_available()
    env['TorchVision'] = torchvision.__version__
    env['MMCV'] = mmcv.__version__
    try:
        from mmcv.ops import get_compiler_version, get_compiling_cuda_version
        env['MMCV ops compiled'] = f'yes ({get_compiler_version()})'
        cuda_ops = get_compiling_cuda_version()
        env['MMCV CUDA ops'] = 'no' if cuda_ops == 'not available' else f'yes (CUDA {cuda_ops})'
    except (ImportError, ModuleNotFoundError):
        env['MMCV ops compiled'] = 'no'
        env['MMCV CUDA ops'] = 'no'
    env['MMDetection'] = mmdet.__version__
    env['MMPose'] = import_mmpose().__version__
    env['NumPy'] = np.__version__
    env['OpenCV'] = cv2.__version__
    env['mmhrkpt'] = __version__
    return env
