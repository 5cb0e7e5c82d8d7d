from .bbox_heads import TorchvisionBBoxHead
from .keypoint_heads import HeatmapKeypointHead, OneHotKeypointHead
from .keypoint_roi_head import KeypointRoIHead, keypoint2result
from .roi_extractors import SingleLevelRoIExtractor, TorchvisionRoIExtractor

__all__ = [
    'HeatmapKeypointHead', 'OneHotKeypointHead', 'KeypointRoIHead', 'keypoint2result',
    'SingleLevelRoIExtractor', 'TorchvisionBBoxHead', 'TorchvisionRoIExtractor'
]
