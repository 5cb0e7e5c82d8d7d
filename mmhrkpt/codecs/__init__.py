"""Keypoint codecs: keypoints <-> heatmaps in RoIs, one registered class per file (pure torch +
mmcv.utils). The maths they share is in :mod:`mmhrkpt.codecs.utils`."""
from .base import BaseKeypointCodec
from .builder import CODECS, build_codec
from .dark import DarkHeatmap
from .msra import MSRAHeatmap
from .onehot import OneHotHeatmap
from .onehot_torchvision import TorchvisionOneHotHeatmap
from .udp import UDPHeatmap

__all__ = [
    'CODECS', 'build_codec', 'BaseKeypointCodec', 'MSRAHeatmap', 'DarkHeatmap', 'UDPHeatmap', 'OneHotHeatmap',
    'TorchvisionOneHotHeatmap'
]
