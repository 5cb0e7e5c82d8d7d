from .fast_roi_extractor import FastSingleRoIExtractor, TVRoIAlign
from .sparse_roi_align import SparseRoIAlign

__all__ = ['FastSingleRoIExtractor', 'TVRoIAlign', 'SparseRoIAlign']
