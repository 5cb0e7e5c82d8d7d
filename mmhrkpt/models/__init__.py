"""Models, registered in mmdet's registries. HRNet and HRFPN are mmdet's own (``type='HRNet'``,
``type='HRFPN'``); mmhrkpt adds only what mmdet lacks."""
from .detectors import KeypointRCNN
from .losses import HeatmapMSELoss
from .roi_heads import (SingleLevelRoIExtractor, HeatmapKeypointHead, KeypointRoIHead,
                        OneHotKeypointHead)

__all__ = [
    'KeypointRCNN', 'HeatmapMSELoss', 'KeypointRoIHead', 'HeatmapKeypointHead', 'OneHotKeypointHead',
    'SingleLevelRoIExtractor'
]
