from .heatmap_keypoint_head import HeatmapKeypointHead
from .onehot_keypoint_head import OneHotKeypointHead

__all__ = ['HeatmapKeypointHead', 'OneHotKeypointHead']
