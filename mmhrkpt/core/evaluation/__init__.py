from .keypoint_eval import (KEYPOINT_METRIC_NAMES, KeypointCOCO, evaluate_keypoint_results,
                            keypoint_results_to_json)

__all__ = [
    'KEYPOINT_METRIC_NAMES', 'KeypointCOCO', 'evaluate_keypoint_results', 'keypoint_results_to_json'
]
