from .error_analysis import (ERROR_TYPES, analyze_keypoint_errors, ap_of_corrections, classify_keypoints,
                             coco_keypoint_stats, error_counts, keypoint_similarity, match_by_oks)
from .keypoint_eval import (CROWDPOSE_METRIC_NAMES, KEYPOINT_METRIC_NAMES, KeypointCOCO,
                            evaluate_crowdpose_results, evaluate_keypoint_results, keypoint_results_to_json)

__all__ = [
    'KEYPOINT_METRIC_NAMES', 'CROWDPOSE_METRIC_NAMES', 'KeypointCOCO', 'evaluate_keypoint_results',
    'evaluate_crowdpose_results', 'keypoint_results_to_json', 'ERROR_TYPES', 'analyze_keypoint_errors',
    'ap_of_corrections', 'classify_keypoints', 'coco_keypoint_stats', 'error_counts', 'keypoint_similarity',
    'match_by_oks'
]
