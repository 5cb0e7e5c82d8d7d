from .hooks import (DistKeypointEvalHook, FiniteLossHook, KeypointEvalHook,
                    KeypointVisualizationHook, draw_predictions)
from .visualization import (COCO_KEYPOINT_NAMES, COCO_SKELETON, imshow_keypoints,
                            show_keypoint_result)

__all__ = [
    'COCO_KEYPOINT_NAMES', 'COCO_SKELETON', 'imshow_keypoints', 'show_keypoint_result',
    'KeypointEvalHook', 'DistKeypointEvalHook', 'FiniteLossHook', 'KeypointVisualizationHook',
    'draw_predictions'
]
