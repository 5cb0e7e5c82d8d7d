"""RoI layers beyond ``mmcv.ops``; RoI extractors build them by ``roi_layer=dict(type=...)``."""
from .roi_align import SparseRoIAlign, TVRoIAlign

#: The RoI layers of this package, by the ``type`` a config gives them.
ROI_LAYERS = {'TVRoIAlign': TVRoIAlign, 'SparseRoIAlign': SparseRoIAlign}

__all__ = ['TVRoIAlign', 'SparseRoIAlign', 'ROI_LAYERS']
