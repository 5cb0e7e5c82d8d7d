from .single_level_roi_extractor import SingleLevelRoIExtractor
from .torchvision_roi_extractor import TorchvisionRoIExtractor

__all__ = ['SingleLevelRoIExtractor', 'TorchvisionRoIExtractor']
