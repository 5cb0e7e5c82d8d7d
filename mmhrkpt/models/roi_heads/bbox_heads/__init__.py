from .torchvision_bbox_head import TorchvisionBBoxHead

__all__ = ['TorchvisionBBoxHead']
