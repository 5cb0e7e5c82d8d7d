"""Heatmap codecs: keypoints <-> Gaussian heatmaps in RoIs (pure torch + mmcv.utils)."""
from .builder import CODECS, build_codec
from .codecs import BaseHeatmapCodec, DarkHeatmap, MSRAHeatmap, UDPHeatmap
from .flip import flip_back_heatmaps
from .heatmap import decode_heatmaps, encode_heatmaps
from .roi import PIXEL_STD, expand_rois, heatmap_to_image, image_to_heatmap, rois_to_center_scale

__all__ = [
    'CODECS', 'build_codec', 'BaseHeatmapCodec', 'MSRAHeatmap', 'DarkHeatmap', 'UDPHeatmap',
    'encode_heatmaps', 'decode_heatmaps', 'expand_rois', 'flip_back_heatmaps', 'PIXEL_STD',
    'rois_to_center_scale', 'image_to_heatmap', 'heatmap_to_image'
]
from .onehot import OneHotHeatmap  # noqa: E402  (the classic Keypoint R-CNN baseline's codec)

__all__ += ['OneHotHeatmap']
