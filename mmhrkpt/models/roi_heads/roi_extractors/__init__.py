from .fast_roi_extractor import FastSingleRoIExtractor, TVRoIAlign

__all__ = ['FastSingleRoIExtractor', 'TVRoIAlign']
