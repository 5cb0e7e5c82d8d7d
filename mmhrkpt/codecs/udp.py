"""UDP heatmaps (Huang et al., "The Devil is in the Details: Delving into Unbiased Data Processing for
Human Pose Estimation", CVPR 2020).

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size.

Pixel convention (continuous image coordinates, CONVENTIONS.md). In a RoI ``(x1, y1, x2, y2)`` of size
``(w, h)`` (the heatmap's aspect, from ``expand_rois``), heatmap cell (row i, column j) holds the value
at heatmap point ``(x_hm, y_hm) = (j, i)`` with

    encode ``x_hm = (x - x1) * (W - 1) / w``,    decode ``x = x1 + x_hm * w / (W - 1)``

and the same for y with H and h (``utils.roi``, ``align_corners=True``): the RoI's edges x1 and x2 fall
on the first and last columns. A horizontal image flip maps ``x_hm -> W - 1 - x_hm``, which is exactly
the mirrored array: no shift (``utils.flip``).

Same numbers as mmpose 0.29 with ``center`` the RoI centre and ``scale = (w, h) / PIXEL_STD``: targets
as ``TopDownGenerateTarget(encoding='UDP', target_type='GaussianHeatmap')`` (a Gaussian at the exact
sub-cell position, cut at 3 sigma around the nearest cell), decoding as
``keypoints_from_heatmaps(use_udp=True)`` (its ``post_dark_udp`` refinement: reflect-101 blur with a
``kernel`` x ``kernel`` cv2 Gaussian, clip, log, one Newton step; ``utils.refine`` lists where it
departs from mmpose). Keypoints whose heatmap maximum is <= 0 decode to heatmap point (-1, -1).
"""
import torch

from .base import GaussianHeatmapCodec, float_inputs
from .builder import CODECS
from .utils import (cell_window, check_blur_kernel, gaussian_1d, image_to_heatmap, keypoint_weights,
                    refine_udp, separable_targets, window_1d)


@CODECS.register_module()
class UDPHeatmap(GaussianHeatmapCodec):
    """RoI edges on the first/last cell centres; DARK-UDP decoding; a flip needs no shift.

    Args:
        heatmap_size (tuple[int, int]): (H, W).
        sigma (float): Gaussian standard deviation of the targets, in heatmap cells.
        kernel (int): blur size for decoding; 11 matches sigma = 2 (cv2's sigma for 11 is 2.0).
    """

    align_corners = True
    shift_flip = False

    def __init__(self, heatmap_size=(64, 48), sigma=2.0, kernel=11):
        super().__init__(heatmap_size, sigma)
        self.kernel = check_blur_kernel(kernel)

    @torch.no_grad()
    def encode(self, keypoints, rois):
        """Sub-cell Gaussian targets, cut at 3 sigma around the nearest cell.

        A keypoint gets weight 1 when it is labelled (v > 0) and its Gaussian (radius 3 sigma) reaches
        the map, as mmpose decides it; its target is zero when its weight is 0.

        Args:
            keypoints (Tensor[N, K, 3]): (x, y, v) in image pixels, v in {0, 1, 2}.
            rois (Tensor[N, 4]): RoIs (x1, y1, x2, y2), one per row of ``keypoints``.

        Returns:
            tuple[Tensor[N, K, H, W], Tensor[N, K]]: targets and weights (float, on the input's device).
        """
        keypoints, rois = float_inputs(keypoints, rois)
        mu = image_to_heatmap(keypoints[..., :2], rois, self.heatmap_size, align_corners=True)
        peak, lower, upper, centre = cell_window(mu, self.sigma)
        centre = centre + (mu - peak)
        weights = keypoint_weights(keypoints[..., 2], lower, upper, self.heatmap_size)
        length = max(self.heatmap_size)
        factors = gaussian_1d(centre, length, self.sigma).mul_(window_1d(lower, upper, length))
        return separable_targets(factors, weights, self.heatmap_size), weights

    def refine(self, flat, height, width, px, py):
        """See :meth:`GaussianHeatmapCodec.refine`."""
        return refine_udp(flat, height, width, px, py, self.kernel)

    def _config(self):
        return dict(heatmap_size=self.heatmap_size, sigma=self.sigma, kernel=self.kernel)
