"""Test time of the keypoint branch: detections -> keypoint RoIs -> heatmaps (flip test included) ->
image keypoints and instance scores.

Shape legend: B images, N RoIs (all images together), n detections of an image, K keypoints,
(H, W) the heatmap size.
"""
import numpy as np
import torch
from mmdet.core import bbox2roi


def rescore_instances(box_scores, keypoint_scores, score_thr=0.2):
    """mmpose's instance score: ``box score * mean(keypoint scores above score_thr)``.

    Raw box scores rank poorly localised poses too high in COCO's OKS evaluation; this is what the
    evaluation ranks by.

    Args:
        box_scores (Tensor[n]): detection scores.
        keypoint_scores (Tensor[n, K]): per-keypoint scores.
        score_thr (float): keypoints at or under it do not count (none counting gives 0).

    Returns:
        Tensor[n]: the new instance scores (a new tensor; the inputs are left as they are).
    """
    confident = (keypoint_scores > score_thr).to(keypoint_scores.dtype)
    mean_conf = (keypoint_scores * confident).sum(-1) / confident.sum(-1).clamp(min=1)
    return box_scores * mean_conf


def mirror_rois(rois, widths):
    """RoIs (Tensor[N, 5], batch index first) in the horizontally flipped images, each image of the
    given width (Tensor[B]): x -> w - x, so (x1, x2) -> (w - x2, w - x1)."""
    w = widths[rois[:, 0].long()]
    mirrored = rois.clone()
    mirrored[:, 1] = w - rois[:, 3]
    mirrored[:, 3] = w - rois[:, 1]
    return mirrored


class KeypointTestMixin:
    """The keypoint branch at test time, for ``KeypointRoIHead``.

    Flip test (``test_cfg.keypoint.flip_test``) lives here alone: the detector hands over the
    features of the horizontally flipped images (``x_flip``) and the width each flip mirrored by;
    the RoIs are mirrored, the flipped heatmaps brought back by the codec (flip pairs swapped,
    UDP-aware) and averaged with the direct ones.
    """

    def simple_test_keypoints(self, x, img_metas, det_bboxes, rescale, x_flip=None, flip_widths=None):
        """Keypoints and instance scores of the detections of every image at once.

        Args:
            x (tuple[Tensor]): features of the images.
            img_metas (list[dict]): per-image meta (``scale_factor``, ``keypoint_flip_pairs``).
            det_bboxes (list[Tensor]): per image Tensor[n, 5] (x1, y1, x2, y2, score), in
                original-image pixels when ``rescale``.
            rescale (bool): whether ``det_bboxes`` (and the results) are in original-image pixels.
            x_flip (tuple[Tensor] | None): features of the flipped images (flip test).
            flip_widths (list[float] | None): per image, the width w the flip mapped x to w - x by.

        Returns:
            tuple[list[Tensor], list[Tensor]]: per image Tensor[n, K, 3] (x, y, score) in the frame
            of ``det_bboxes``, and per image Tensor[n] instance scores (the box scores rescored
            when ``test_cfg.keypoint.rescore``, default True; else the box scores).
        """
        cfg = self._keypoint_cfg(self.test_cfg)
        device = det_bboxes[0].device
        scale_factors = [
            torch.as_tensor(np.asarray(m['scale_factor'], dtype=np.float32)[:2], device=device)
            for m in img_metas
        ]
        # Boxes in the network input's frame, where the features live.
        boxes = [
            b[:, :4].reshape(-1, 2, 2) * s if rescale else b[:, :4].reshape(-1, 2, 2)
            for b, s in zip(det_bboxes, scale_factors)
        ]
        rois = bbox2roi([b.reshape(-1, 4) for b in boxes])
        rois[:, 1:] = self.expand_keypoint_rois(rois[:, 1:])
        heatmaps = self._keypoint_forward(x, rois)
        if x_flip is not None:
            heatmaps = self._flip_test_heatmaps(heatmaps, x_flip, rois, flip_widths, img_metas, cfg)

        coords, scores = self.keypoint_head.decode(heatmaps, rois[:, 1:])
        counts = [len(b) for b in det_bboxes]
        keypoints, instance_scores = [], []
        for b, xy, sc, s in zip(det_bboxes, coords.split(counts), scores.split(counts), scale_factors):
            if rescale:
                xy = xy / s
            keypoints.append(torch.cat([xy, sc[..., None]], -1))
            instance_scores.append(
                rescore_instances(b[:,
                                    4], sc, cfg.get('score_thr', 0.2)) if cfg.get('rescore', True) else b[:,
                                                                                                          4])
        return keypoints, instance_scores

    def _flip_test_heatmaps(self, heatmaps, x_flip, rois, flip_widths, img_metas, cfg):
        """The mean of ``heatmaps`` (Tensor[N, K, H, W]) and the flipped-back heatmaps of the mirrored
        RoIs in the flipped features."""
        flip_pairs = self._flip_pairs(img_metas, cfg)
        rois_flip = mirror_rois(rois, rois.new_tensor(flip_widths))
        heatmaps_flip = self._keypoint_forward(x_flip, rois_flip)
        return 0.5 * (heatmaps + self.keypoint_head.flip_back(heatmaps_flip, flip_pairs))

    def _flip_pairs(self, img_metas, cfg):
        """Flip pairs from the dataset (img_metas['keypoint_flip_pairs']) or test_cfg.keypoint."""
        pairs = img_metas[0].get('keypoint_flip_pairs', cfg.get('flip_pairs', None))
        if pairs is None:
            raise ValueError('flip test needs the keypoint flip pairs: add "keypoint_flip_pairs" to '
                             "the test pipeline's Collect meta_keys or set "
                             'test_cfg.rcnn.keypoint.flip_pairs')
        return pairs
