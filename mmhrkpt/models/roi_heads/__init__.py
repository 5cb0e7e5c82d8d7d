from .keypoint_heads import HeatmapKeypointHead, OneHotKeypointHead
from .keypoint_roi_head import KeypointRoIHead, keypoint2result

__all__ = ['HeatmapKeypointHead', 'OneHotKeypointHead', 'KeypointRoIHead', 'keypoint2result']
