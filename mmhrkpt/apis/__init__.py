from .inference import inference_model, init_model, show_inference
from .test import multi_gpu_test, single_gpu_test
from .train import check_keypoint_consistency, train_detector

__all__ = [
    'init_model', 'inference_model', 'show_inference', 'single_gpu_test', 'multi_gpu_test', 'train_detector',
    'check_keypoint_consistency'
]
