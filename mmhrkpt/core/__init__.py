from .hooks import (DistKeypointEvalHook, FiniteLossHook, KeypointEvalHook,
                    KeypointVisualizationHook, SkippedImagesHook, draw_predictions)
from .parallel import MMDistributedDataParallelCompat
from .runner import (AtomicEpochBasedRunner, AtomicIterBasedRunner, find_latest_checkpoint,
                     get_rng_state, is_complete_checkpoint, set_rng_state)
from .visualization import (COCO_KEYPOINT_NAMES, COCO_SKELETON, imshow_keypoints,
                            show_keypoint_result)

__all__ = [
    'COCO_KEYPOINT_NAMES', 'COCO_SKELETON', 'imshow_keypoints', 'show_keypoint_result',
    'KeypointEvalHook', 'DistKeypointEvalHook', 'FiniteLossHook', 'KeypointVisualizationHook',
    'SkippedImagesHook', 'draw_predictions', 'MMDistributedDataParallelCompat',
    'AtomicEpochBasedRunner', 'AtomicIterBasedRunner', 'find_latest_checkpoint',
    'is_complete_checkpoint', 'get_rng_state', 'set_rng_state'
]
