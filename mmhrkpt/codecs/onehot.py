"""One-hot keypoint codec of the classic Keypoint R-CNN (Mask R-CNN, detectron2), for the baseline.

Shape legend: N RoIs, K keypoints, (H, W) the map size (56, 56 by default).

Pixel convention: a RoI (x1, y1, x2, y2) keeps the detected box's shape (only padded, see
``expand_rois``) and is cut into W x H cells; the continuous image point x lies at ``x_hm = (x - x1) *
W / (x2 - x1)`` and belongs to cell ``floor(x_hm)`` (a point exactly on the right/bottom edge goes to
the last cell, as in detectron2). Decoding returns the centre of the best cell: ``x = x1 + (j + 0.5) *
(x2 - x1) / W``. Under a horizontal image flip a cell j becomes W - 1 - j exactly, so ``flip_back``
mirrors without a shift.
"""
import torch

from .base import BaseKeypointCodec
from .builder import CODECS
from .utils import flip_back_heatmaps, pad_rois


@CODECS.register_module()
class OneHotHeatmap(BaseKeypointCodec):
    """Targets are cell indices, predictions are logits over the H*W cells of each keypoint.

    Args:
        heatmap_size (tuple[int, int]): (H, W).
    """

    def __init__(self, heatmap_size=(56, 56)):
        super().__init__(heatmap_size)

    def expand_rois(self, rois, padding=1.25):
        """Boxes -> RoIs of the box's own shape, padded (no aspect-ratio change, as in detectron2).

        Args:
            rois (Tensor[N, 4]): boxes ``(x1, y1, x2, y2)`` in image pixels.
            padding (float): factor applied to both sides.

        Returns:
            Tensor[N, 4]: the RoIs ``(x1, y1, x2, y2)``.
        """
        return pad_rois(rois, padding=padding)

    def _to_map(self, keypoints, rois):
        """Tensor[N, K, 3] image keypoints -> continuous map coordinates Tensor[N, K, 2]."""
        H, W = self.heatmap_size
        size = (rois[:, 2:] - rois[:, :2]).clamp(min=1e-6)  # [N, 2] (w, h)
        scale = keypoints.new_tensor([W, H]) / size
        return (keypoints[..., :2] - rois[:, None, :2]) * scale[:, None]

    def encode(self, keypoints, rois):
        """Keypoints -> (targets Tensor[N, K] long flat cell index, weights Tensor[N, K]).

        A keypoint counts (weight 1) when labelled (v > 0) and inside its RoI.

        Args:
            keypoints (Tensor[N, K, 3]): (x, y, v) in image pixels.
            rois (Tensor[N, 4]): RoIs (x1, y1, x2, y2), one per row of ``keypoints``.
        """
        H, W = self.heatmap_size
        xy = self._to_map(keypoints, rois)
        x, y = xy.unbind(-1)
        inside = (x >= 0) & (y >= 0) & (x <= W) & (y <= H)
        valid = inside & (keypoints[..., 2] > 0)
        cx = x.floor().long().clamp(0, W - 1)
        cy = y.floor().long().clamp(0, H - 1)
        targets = torch.where(valid, cy * W + cx, torch.zeros_like(cx))
        return targets, valid.to(keypoints.dtype)

    def decode(self, heatmaps, rois):
        """Logits Tensor[N, K, H, W] -> (keypoints Tensor[N, K, 2] image px, scores Tensor[N, K]).

        The score is the softmax probability of the best cell.
        """
        self._check_size(heatmaps)
        N, K, H, W = heatmaps.shape
        flat = heatmaps.reshape(N, K, H * W)
        scores, idx = flat.softmax(-1).max(-1)
        cell = torch.stack([idx % W, idx // W], -1).to(heatmaps.dtype) + 0.5
        size = (rois[:, 2:] - rois[:, :2])
        scale = size / heatmaps.new_tensor([W, H])
        keypoints = rois[:, None, :2] + cell * scale[:, None]
        return keypoints, scores

    def flip_back(self, heatmaps, flip_pairs):
        """Maps of the flipped image -> maps of the original (mirror + swap pairs, no shift)."""
        self._check_size(heatmaps)
        return flip_back_heatmaps(heatmaps, flip_pairs, shift=False)
