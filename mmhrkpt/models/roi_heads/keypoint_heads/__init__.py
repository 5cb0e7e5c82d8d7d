from .heatmap_keypoint_head import HeatmapKeypointHead, OneHotKeypointHead

__all__ = ['HeatmapKeypointHead', 'OneHotKeypointHead']
