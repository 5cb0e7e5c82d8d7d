"""Models, registered in mmdet's (and mmcv's) registries. HRNet and HRFPN are mmdet's own
(``type='HRNet'``, ``type='HRFPN'``); mmhrkpt adds only what mmdet lacks: the keypoint R-CNN pieces,
and the few variants that make a model converted from torchvision compute what torchvision computes
(``FrozenBN``, ``TorchvisionAnchorGenerator``, ``TorchvisionDeltaXYWHBBoxCoder``,
``TorchvisionRPNHead``, ``TorchvisionRoIExtractor``, ``TorchvisionBBoxHead``)."""
from .dense_heads import TorchvisionRPNHead
from .detectors import KeypointRCNN
from .layers import FrozenBN
from .losses import HeatmapMSELoss
from .roi_heads import (HeatmapKeypointHead, KeypointRoIHead, OneHotKeypointHead, SingleLevelRoIExtractor,
                        TorchvisionBBoxHead, TorchvisionRoIExtractor)
from .task_modules import TorchvisionAnchorGenerator, TorchvisionDeltaXYWHBBoxCoder

__all__ = [
    'KeypointRCNN', 'HeatmapMSELoss', 'KeypointRoIHead', 'HeatmapKeypointHead', 'OneHotKeypointHead',
    'SingleLevelRoIExtractor', 'FrozenBN', 'TorchvisionAnchorGenerator', 'TorchvisionDeltaXYWHBBoxCoder',
    'TorchvisionRPNHead', 'TorchvisionRoIExtractor', 'TorchvisionBBoxHead'
]
