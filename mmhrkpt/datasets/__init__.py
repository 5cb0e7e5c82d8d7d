from .coco_keypoint import CocoKeypointDataset
from .crowdpose_keypoint import CrowdPoseKeypointDataset
from .keypoint_meta import (COCO_KEYPOINT_NAMES, COCO_SIGMAS, COCO_SKELETON, KEYPOINT_META_KEYS,
                            derive_flip_pairs, load_dataset_info, resolve_keypoint_meta)
from .pipelines import (ImageLoadError, KeypointFormatBundle, KeypointRandomFlip, KeypointResize,
                        LoadImageFromFileSafe, LoadKeypointAnnotations)

__all__ = [
    'CocoKeypointDataset', 'CrowdPoseKeypointDataset', 'COCO_KEYPOINT_NAMES', 'COCO_SIGMAS', 'COCO_SKELETON',
    'derive_flip_pairs', 'load_dataset_info', 'resolve_keypoint_meta', 'ImageLoadError',
    'LoadImageFromFileSafe', 'LoadKeypointAnnotations', 'KeypointResize', 'KeypointRandomFlip',
    'KeypointFormatBundle', 'KEYPOINT_META_KEYS'
]
