"""DARK heatmaps (Zhang et al., "Distribution-Aware Coordinate Representation for Human Pose
Estimation", CVPR 2020).

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size.

Pixel convention (continuous image coordinates, CONVENTIONS.md): MSRA's. In a RoI ``(x1, y1, x2, y2)``
of size ``(w, h)`` (the heatmap's aspect, from ``expand_rois``), heatmap cell (row i, column j) holds the
value at heatmap point ``(x_hm, y_hm) = (j, i)`` with

    encode ``x_hm = (x - x1) * W / w``,    decode ``x = x1 + x_hm * w / W``

and the same for y with H and h (``utils.roi``, ``align_corners=False``). A horizontal image flip maps
``x_hm -> W - x_hm``: the mirrored array shifted right by one column (``utils.flip``).

Same numbers as mmpose 0.29 with ``center`` the RoI centre and ``scale = (w, h) / PIXEL_STD``: targets
as ``TopDownGenerateTarget(encoding='MSRA', unbiased_encoding=True)`` (the untruncated Gaussian at the
exact sub-cell position), decoding as ``keypoints_from_heatmaps(post_process='unbiased')`` (blur with a
``kernel`` x ``kernel`` cv2 Gaussian, log, one Newton step with the 2x2 Hessian; ``utils.refine`` lists
where it departs from mmpose, all outside the well-conditioned set). Keypoints whose heatmap maximum is
<= 0 decode to heatmap point (-1, -1).
"""
import torch

from .base import GaussianHeatmapCodec, float_inputs
from .builder import CODECS
from .utils import (check_blur_kernel, gaussian_1d, image_to_heatmap, keypoint_weights, refine_dark,
                    separable_targets, subcell_window)


@CODECS.register_module()
class DarkHeatmap(GaussianHeatmapCodec):
    """Sub-cell Gaussian targets; Taylor-refined (DARK) decoding.

    Args:
        heatmap_size (tuple[int, int]): (H, W).
        sigma (float): Gaussian standard deviation of the targets, in heatmap cells.
        kernel (int): blur size for decoding; 11 matches sigma = 2 (cv2's sigma for 11 is 2.0).
    """

    def __init__(self, heatmap_size=(64, 48), sigma=2.0, kernel=11):
        super().__init__(heatmap_size, sigma)
        self.kernel = check_blur_kernel(kernel)

    @torch.no_grad()
    def encode(self, keypoints, rois):
        """Untruncated Gaussian targets at the keypoints' exact positions.

        A keypoint gets weight 1 when it is labelled (v > 0) and within 3 sigma of the map, as mmpose
        decides it; its target is zero when its weight is 0.

        Args:
            keypoints (Tensor[N, K, 3]): (x, y, v) in image pixels, v in {0, 1, 2}.
            rois (Tensor[N, 4]): RoIs (x1, y1, x2, y2), one per row of ``keypoints``.

        Returns:
            tuple[Tensor[N, K, H, W], Tensor[N, K]]: targets and weights (float, on the input's device).
        """
        keypoints, rois = float_inputs(keypoints, rois)
        mu = image_to_heatmap(keypoints[..., :2], rois, self.heatmap_size)  # [N, K, 2]
        lower, upper = subcell_window(mu, self.sigma)
        weights = keypoint_weights(keypoints[..., 2], lower, upper, self.heatmap_size)
        factors = gaussian_1d(mu, max(self.heatmap_size), self.sigma)
        return separable_targets(factors, weights, self.heatmap_size), weights

    def refine(self, flat, height, width, px, py):
        """See :meth:`GaussianHeatmapCodec.refine`."""
        return refine_dark(flat, height, width, px, py, self.kernel)

    def _config(self):
        return dict(heatmap_size=self.heatmap_size, sigma=self.sigma, kernel=self.kernel)
