"""RoI head with mmdet's box branch and a keypoint branch.

Shape legend: B images, N RoIs (all images together), K keypoints, (H, W) the heatmap size.
Boxes and keypoints share one continuous pixel frame (see CONVENTIONS.md).
"""
import numpy as np
import torch
from mmdet.core import bbox2result, bbox2roi
from mmdet.models.builder import HEADS, build_head, build_roi_extractor
from mmdet.models.roi_heads import StandardRoIHead

from .test_mixins import KeypointTestMixin


def keypoint2result(keypoints, labels, num_classes):
    """Split one image's keypoints by class, rows in the order of mmdet's ``bbox2result``.

    Args:
        keypoints (Tensor[n, K, 3]): (x, y, score) per detection.
        labels (Tensor[n]): class of each detection.
        num_classes (int): number of classes.

    Returns:
        list[np.ndarray]: one ``(n_c, K, 3)`` float32 array per class.
    """
    keypoints = keypoints.detach().cpu().numpy().astype(np.float32)
    labels = labels.detach().cpu().numpy()
    return [keypoints[labels == c] for c in range(num_classes)]


@HEADS.register_module()
class KeypointRoIHead(KeypointTestMixin, StandardRoIHead):
    """mmdet's ``StandardRoIHead`` (box branch unchanged) plus a keypoint branch.

    Training: the positive RoIs of the box sampling whose matched ground truth has at least one
    labelled keypoint (at most ``train_cfg.keypoint.max_rois_per_img`` per image) are expanded as the
    head's codec wants them (the heatmap's aspect ratio for the Gaussian codecs, the box's own shape for
    the one-hot one) and padded (``keypoint_roi_expand``), pooled by ``keypoint_roi_extractor`` and
    turned into heatmaps by ``keypoint_head``, whose codec makes the targets.

    Test: the detected boxes, expanded the same way, go through the same branch; the heatmaps (averaged
    with those of the flipped image when the detector passes its features: flip test) are decoded to image
    keypoints. With ``test_cfg.keypoint.rescore`` (default True) the instance score becomes mmpose's
    ``box score * mean(keypoint scores > score_thr)``; the result's box score column carries it, so COCO's
    OKS evaluation ranks instances by it.

    Args:
        keypoint_roi_extractor (dict): RoI extractor config (output_size = the head's roi_feat_size).
        keypoint_head (dict): keypoint head config (``HeatmapKeypointHead``, ``OneHotKeypointHead``).
        keypoint_roi_expand (dict): ``padding`` (default 1.25): each side of the box, shaped by the
            codec's ``expand_rois``, is multiplied by it.
        Others as ``StandardRoIHead``.
    """

    def __init__(self,
                 keypoint_roi_extractor=None,
                 keypoint_head=None,
                 keypoint_roi_expand=dict(padding=1.25),
                 **kwargs):
        super().__init__(**kwargs)
        assert keypoint_head is not None and keypoint_roi_extractor is not None, \
            'KeypointRoIHead needs keypoint_roi_extractor and keypoint_head'
        self.keypoint_roi_extractor = build_roi_extractor(keypoint_roi_extractor)
        self.keypoint_head = build_head(keypoint_head)
        self.keypoint_padding = float(keypoint_roi_expand.get('padding', 1.25))
        out_size = tuple(self.keypoint_roi_extractor.roi_layers[0].output_size)
        if out_size != self.keypoint_head.roi_feat_size:
            raise ValueError(f'keypoint_roi_extractor output_size {out_size} differs from keypoint_head '
                             f'roi_feat_size {self.keypoint_head.roi_feat_size}')

    @property
    def num_keypoints(self):
        return self.keypoint_head.num_keypoints

    @staticmethod
    def _keypoint_cfg(cfg):
        """The ``keypoint`` section of train_cfg / test_cfg (empty dict if absent)."""
        return (cfg or {}).get('keypoint', None) or {}

    def expand_keypoint_rois(self, bboxes):
        """Tensor[N, 4] boxes -> Tensor[N, 4] keypoint RoIs, shaped as the head's codec wants, padded."""
        return self.keypoint_head.expand_rois(bboxes, padding=self.keypoint_padding)

    def forward_dummy(self, x, proposals):
        """mmdet's dummy forward (box branch on up to 100 proposals) plus the keypoint branch on the
        same boxes, so that FLOP counters see every layer.

        Args:
            x (tuple[Tensor]): multi-level features.
            proposals (Tensor[n, 4]): boxes of the first image.

        Returns:
            tuple: mmdet's outputs (``cls_score``, ``bbox_pred``), then Tensor[n', K, H, W] heatmaps.
        """
        outs = super().forward_dummy(x, proposals)
        rois = bbox2roi([proposals[:100]])
        rois[:, 1:] = self.expand_keypoint_rois(rois[:, 1:])
        return outs + (self._keypoint_forward(x, rois), )

    def _keypoint_forward(self, x, rois):
        """Pool features for ``rois`` (Tensor[N, 5], batch index first) -> Tensor[N, K, H, W].

        Heatmaps computed in bfloat16 / float16 (autocast, ``cpu_bf16``) come back as float32: the
        loss, the targets it compares them with and the decoding work in float32.
        """
        feats = self.keypoint_roi_extractor(x[:self.keypoint_roi_extractor.num_inputs], rois)
        heatmaps = self.keypoint_head(feats)
        return heatmaps.float() if heatmaps.dtype in (torch.bfloat16, torch.float16) else heatmaps

    # ------------------------------------------------------------------ training
    def forward_train(self,
                      x,
                      img_metas,
                      proposal_list,
                      gt_bboxes,
                      gt_labels,
                      gt_bboxes_ignore=None,
                      gt_masks=None,
                      gt_keypoints=None,
                      **kwargs):
        """Box losses as ``StandardRoIHead`` plus ``loss_keypoint``.

        Args:
            x (tuple[Tensor]): multi-level features, each Tensor[B, C, h, w].
            img_metas (list[dict]): per-image meta.
            proposal_list (list[Tensor]): per image Tensor[n_props, 5].
            gt_bboxes (list[Tensor]): per image Tensor[n, 4].
            gt_labels (list[Tensor]): per image Tensor[n].
            gt_bboxes_ignore (list[Tensor] | None): per image ignore regions.
            gt_masks: unused (no mask branch).
            gt_keypoints (list[Tensor]): per image Tensor[n, K, 3] (x, y, v), rows as gt_bboxes.

        Returns:
            dict[str, Tensor]: the losses.
        """
        if gt_keypoints is None:
            raise ValueError('KeypointRoIHead.forward_train needs gt_keypoints (add it to the '
                             "pipeline's Collect keys)")
        num_imgs = len(img_metas)
        if gt_bboxes_ignore is None:
            gt_bboxes_ignore = [None] * num_imgs
        sampling_results = []
        for i in range(num_imgs):
            assign_result = self.bbox_assigner.assign(proposal_list[i], gt_bboxes[i], gt_bboxes_ignore[i],
                                                      gt_labels[i])
            sampling_results.append(
                self.bbox_sampler.sample(
                    assign_result,
                    proposal_list[i],
                    gt_bboxes[i],
                    gt_labels[i],
                    feats=[lvl_feat[i][None] for lvl_feat in x]))

        losses = dict()
        bbox_results = self._bbox_forward_train(x, sampling_results, gt_bboxes, gt_labels, img_metas)
        losses.update(bbox_results['loss_bbox'])
        losses.update(self._keypoint_forward_train(x, sampling_results, gt_keypoints))
        return losses

    def _keypoint_forward_train(self, x, sampling_results, gt_keypoints):
        """Keypoint loss on the positive RoIs whose ground truth has a labelled keypoint."""
        max_per_img = self._keypoint_cfg(self.train_cfg).get('max_rois_per_img', None)
        bboxes, keypoints = [], []
        for res, kpts in zip(sampling_results, gt_keypoints):  # a loop over images only
            matched = kpts[res.pos_assigned_gt_inds]  # [P, K, 3]
            keep = (matched[..., 2] > 0).any(-1).nonzero(as_tuple=True)[0]
            if max_per_img is not None:
                keep = keep[:max_per_img]  # positives come in the sampler's random order
            bboxes.append(res.pos_bboxes[keep])
            keypoints.append(matched[keep])
        rois = bbox2roi(bboxes)
        rois[:, 1:] = self.expand_keypoint_rois(rois[:, 1:])
        pred = self._keypoint_forward(x, rois)
        targets, weights = self.keypoint_head.get_targets(torch.cat(keypoints), rois[:, 1:])
        return self.keypoint_head.loss(pred, targets, weights)

    # ------------------------------------------------------------------ test
    def simple_test(self,
                    x,
                    proposal_list,
                    img_metas,
                    proposals=None,
                    rescale=False,
                    x_flip=None,
                    flip_widths=None):
        """Detect boxes, then keypoints in them.

        Args:
            x (tuple[Tensor]): features of the images.
            proposal_list (list[Tensor]): per image Tensor[n, 5] proposals.
            img_metas (list[dict]): per-image meta.
            rescale (bool): return results in the original image's pixels.
            x_flip (tuple[Tensor] | None): features of the horizontally flipped images; given, the
                heatmaps are averaged with the flipped-back heatmaps of the flipped image (flip test).
            flip_widths (list[float] | None): per image, the width w the flip mapped x to w - x by.

        Returns:
            list[tuple]: per image ``(bbox_results, keypoint_results)``: one ``(n, 5)`` array per class
            and one ``(n, K, 3)`` array (x, y, score) per class, row i of both for detection i.
        """
        det_bboxes, det_labels = self.simple_test_bboxes(
            x, img_metas, proposal_list, self.test_cfg, rescale=rescale)
        det_keypoints, det_scores = self.simple_test_keypoints(
            x, img_metas, det_bboxes, rescale, x_flip=x_flip, flip_widths=flip_widths)
        num_classes = self.bbox_head.num_classes
        results = []
        for b, sc, l, k in zip(det_bboxes, det_scores, det_labels, det_keypoints):
            # the score column carries the instance score, by which COCO's evaluation ranks
            b = torch.cat([b[:, :4], sc[:, None]], dim=1)
            results.append((bbox2result(b, l, num_classes), keypoint2result(k, l, num_classes)))
        return results

    def aug_test(self, x, proposal_list, img_metas, rescale=False):
        raise NotImplementedError('use KeypointRCNN.aug_test (flip test of the keypoint branch)')
