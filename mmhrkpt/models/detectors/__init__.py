from .keypoint_rcnn import KeypointRCNN

__all__ = ['KeypointRCNN']
