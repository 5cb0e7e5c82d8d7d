from .fast_roi_extractor import FastSingleRoIExtractor
from .roi_align import SparseRoIAlign, TVRoIAlign

__all__ = ['FastSingleRoIExtractor', 'TVRoIAlign', 'SparseRoIAlign']
