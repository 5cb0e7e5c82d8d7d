"""Anchor generator and box coder of torchvision's detection models, in mmdet's registries."""
from .torchvision_anchor_generator import TorchvisionAnchorGenerator
from .torchvision_bbox_coder import TorchvisionDeltaXYWHBBoxCoder

__all__ = ['TorchvisionAnchorGenerator', 'TorchvisionDeltaXYWHBBoxCoder']
