from .coco_keypoint import CocoKeypointDataset, KeypointCOCO
from .keypoint_meta import (COCO_KEYPOINT_NAMES, COCO_SIGMAS, COCO_SKELETON, derive_flip_pairs,
                            resolve_keypoint_meta)
from .pipelines import (KEYPOINT_META_KEYS, ImageLoadError, KeypointFormatBundle,
                        KeypointRandomFlip, KeypointResize, LoadImageFromFileSafe,
                        LoadKeypointAnnotations)

__all__ = [
    'CocoKeypointDataset', 'KeypointCOCO', 'COCO_KEYPOINT_NAMES', 'COCO_SIGMAS', 'COCO_SKELETON',
    'derive_flip_pairs', 'resolve_keypoint_meta', 'ImageLoadError', 'LoadImageFromFileSafe',
    'LoadKeypointAnnotations', 'KeypointResize', 'KeypointRandomFlip', 'KeypointFormatBundle',
    'KEYPOINT_META_KEYS'
]
