"""The codec registry.

A codec (a :class:`~mmhrkpt.codecs.base.BaseKeypointCodec`) turns keypoints into heatmap targets
(``encode``) and heatmaps back into image keypoints (``decode``); a new codec is a new subclass in its
own file, registered here and chosen in a config by
``dict(type='DarkHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11)``.
"""
from mmcv.utils import Registry, build_from_cfg

CODECS = Registry('codec')


def build_codec(cfg, default_args=None):
    """Build a keypoint codec from a config dict such as ``dict(type='UDPHeatmap')``."""
    return build_from_cfg(cfg, CODECS, default_args)
