from .coco_keypoint import CocoKeypointDataset
from .keypoint_meta import (COCO_KEYPOINT_NAMES, COCO_SIGMAS, COCO_SKELETON, KEYPOINT_META_KEYS,
                            derive_flip_pairs, resolve_keypoint_meta)
from .pipelines import (ImageLoadError, KeypointFormatBundle,
                        KeypointRandomFlip, KeypointResize, LoadImageFromFileSafe,
                        LoadKeypointAnnotations)

__all__ = [
    'CocoKeypointDataset', 'COCO_KEYPOINT_NAMES', 'COCO_SIGMAS', 'COCO_SKELETON',
    'derive_flip_pairs', 'resolve_keypoint_meta', 'ImageLoadError', 'LoadImageFromFileSafe',
    'LoadKeypointAnnotations', 'KeypointResize', 'KeypointRandomFlip', 'KeypointFormatBundle',
    'KEYPOINT_META_KEYS'
]
