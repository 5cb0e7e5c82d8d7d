"""The maths the codecs share: RoI geometry, Gaussian targets and blurs, decoding refinements, flip.

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size.
"""
from .flip import flip_back_heatmaps
from .gaussian import (GAUSSIAN_RADIUS_IN_SIGMAS, cell_window, check_blur_kernel, gaussian_1d,
                       gaussian_kernel_1d, keypoint_weights, separable_targets, subcell_window, window_1d)
from .refine import argmax_plus_offset, heatmap_argmax, no_keypoints, refine_dark, refine_msra, refine_udp
from .roi import (MIN_ROI_SIZE, PIXEL_STD, expand_rois, heatmap_to_image, image_to_heatmap, pad_rois,
                  rois_to_center_scale)

__all__ = [
    'flip_back_heatmaps', 'GAUSSIAN_RADIUS_IN_SIGMAS', 'cell_window', 'check_blur_kernel', 'gaussian_1d',
    'gaussian_kernel_1d', 'keypoint_weights', 'separable_targets', 'subcell_window', 'window_1d',
    'argmax_plus_offset', 'heatmap_argmax', 'no_keypoints', 'refine_dark', 'refine_msra', 'refine_udp',
    'MIN_ROI_SIZE', 'PIXEL_STD', 'expand_rois', 'heatmap_to_image', 'image_to_heatmap', 'pad_rois',
    'rois_to_center_scale'
]
