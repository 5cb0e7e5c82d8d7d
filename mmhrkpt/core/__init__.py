"""Hooks, evaluation and visualization: what training, testing and the tools share."""
from .evaluation import KeypointCOCO, evaluate_keypoint_results, keypoint_results_to_json
from .hooks import (DistKeypointEvalHook, FiniteLossHook, KeypointEvalHook, KeypointVisualizationHook,
                    SkippedImagesHook, place_finite_loss_hook)
from .visualization import draw_predictions, imshow_keypoints, show_keypoint_result

__all__ = [
    'KeypointCOCO', 'evaluate_keypoint_results', 'keypoint_results_to_json', 'KeypointEvalHook',
    'DistKeypointEvalHook', 'FiniteLossHook', 'place_finite_loss_hook', 'SkippedImagesHook',
    'KeypointVisualizationHook', 'draw_predictions', 'imshow_keypoints', 'show_keypoint_result'
]
