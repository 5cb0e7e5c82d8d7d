"""MSRA heatmaps (Xiao et al., "Simple Baselines for Human Pose Estimation", ECCV 2018).

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size.

Pixel convention (continuous image coordinates, CONVENTIONS.md). In a RoI ``(x1, y1, x2, y2)`` of size
``(w, h)`` (from :meth:`~mmhrkpt.codecs.base.BaseKeypointCodec.expand_rois`: the heatmap's aspect, so a
cell is a square of ``w / W`` pixels), heatmap cell (row i, column j) holds the value at heatmap point
``(x_hm, y_hm) = (j, i)`` with

    encode ``x_hm = (x - x1) * W / w``,    decode ``x = x1 + x_hm * w / W``

and the same for y with H and h (``utils.roi``, ``align_corners=False``): x1 falls on column 0 and x2 at
``x_hm = W``, one cell beyond the last column. A horizontal image flip maps ``x_hm -> W - x_hm``: the
mirrored array shifted right by one column (``utils.flip``).

Same numbers as mmpose 0.29 with ``center`` the RoI centre and ``scale = (w, h) / PIXEL_STD``
(tests/test_codecs compare them): targets as ``TopDownGenerateTarget(encoding='MSRA')`` (a Gaussian
centred on the cell ``int(x_hm + 0.5)``, cut at 3 sigma), decoding as
``keypoints_from_heatmaps(post_process='default')`` (argmax, then a quarter-cell step towards the
higher neighbour). Keypoints whose heatmap maximum is <= 0 decode to heatmap point (-1, -1).
"""
import torch

from .base import GaussianHeatmapCodec, float_inputs
from .builder import CODECS
from .utils import (cell_window, gaussian_1d, image_to_heatmap, keypoint_weights, refine_msra,
                    separable_targets, window_1d)


@CODECS.register_module()
class MSRAHeatmap(GaussianHeatmapCodec):
    """Gaussian on the nearest cell; argmax + quarter-cell shift decoding.

    Args:
        heatmap_size (tuple[int, int]): (H, W).
        sigma (float): Gaussian standard deviation of the targets, in heatmap cells.
    """

    def __init__(self, heatmap_size=(64, 48), sigma=2.0):
        super().__init__(heatmap_size, sigma)

    @torch.no_grad()
    def encode(self, keypoints, rois):
        """Gaussian targets of keypoints in their RoIs.

        A keypoint gets weight 1 when it is labelled (v > 0) and its Gaussian (radius 3 sigma) reaches
        the map, as mmpose decides it; its target is zero when its weight is 0.

        Args:
            keypoints (Tensor[N, K, 3]): (x, y, v) in image pixels, v in {0, 1, 2}.
            rois (Tensor[N, 4]): RoIs (x1, y1, x2, y2), one per row of ``keypoints``.

        Returns:
            tuple[Tensor[N, K, H, W], Tensor[N, K]]: targets and weights (float, on the input's device).
        """
        keypoints, rois = float_inputs(keypoints, rois)
        mu = image_to_heatmap(keypoints[..., :2], rois, self.heatmap_size)  # [N, K, 2]
        _, lower, upper, centre = cell_window(mu, self.sigma)
        weights = keypoint_weights(keypoints[..., 2], lower, upper, self.heatmap_size)
        length = max(self.heatmap_size)
        factors = gaussian_1d(centre, length, self.sigma).mul_(window_1d(lower, upper, length))
        return separable_targets(factors, weights, self.heatmap_size), weights

    def refine(self, flat, height, width, px, py):
        """See :meth:`GaussianHeatmapCodec.refine`."""
        return refine_msra(flat, height, width, px, py)
