from .formatting import KeypointFormatBundle
from .loading import ImageLoadError, LoadImageFromFileSafe, LoadKeypointAnnotations
from .transforms import (KeypointRandomFlip, KeypointResize, clear_invisible_keypoints, flip_keypoints,
                         flip_permutation, rescale_keypoints)

__all__ = [
    'ImageLoadError', 'LoadImageFromFileSafe', 'LoadKeypointAnnotations', 'KeypointResize',
    'KeypointRandomFlip', 'KeypointFormatBundle', 'clear_invisible_keypoints', 'rescale_keypoints',
    'flip_keypoints', 'flip_permutation'
]
