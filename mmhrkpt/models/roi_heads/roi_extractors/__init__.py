from .single_level_roi_extractor import SingleLevelRoIExtractor

__all__ = ['SingleLevelRoIExtractor']
