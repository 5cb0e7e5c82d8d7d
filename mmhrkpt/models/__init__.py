"""Models, registered in mmdet's registries. HRNet and HRFPN are mmdet's own (``type='HRNet'``,
``type='HRFPN'``); mmhrkpt adds only what mmdet lacks."""
from .detectors import KeypointRCNN
from .roi_heads import HeatmapKeypointHead, KeypointRoIHead, OneHotKeypointHead

__all__ = ['KeypointRCNN', 'KeypointRoIHead', 'HeatmapKeypointHead', 'OneHotKeypointHead']
