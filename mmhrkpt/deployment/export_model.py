"""The whole test path of a Keypoint R-CNN as one traceable module: image in, boxes, labels and decoded
keypoints out, so that ``torch.onnx.export`` writes it as a single ONNX graph of standard operators.

Shape legend: N detections, K keypoints, P proposals, C classes, (H, W) the input size, (h, w) the
image inside it (before padding).

It computes what ``KeypointRCNN.simple_test(..., rescale=False)`` computes, step by step with the
detector's own modules and configs: backbone and neck; the RPN (anchors, per-level top
``nms_pre``, decoding, ``min_bbox_size``, per-level NMS, ``max_per_img``); the box head (RoIAlign per
level, softmax, decoding, ``score_thr``, per-class NMS, ``max_per_img``); the keypoint branch (the
codec's ``expand_rois``, RoIAlign, the keypoint head, flip test when ``test_cfg`` asks for it, the
codec's batched ``decode``, ``rescore_instances``). Only the parts mmdet writes with data-dependent
Python come from :mod:`.export_ops`; the RoI layers run as torchvision's ``roi_align`` (``SparseRoIAlign``
and mmcv's ``RoIAlign`` give the same numbers).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmhrkpt.models.roi_heads.test_mixins import rescore_instances
from .export_ops import (decode_deltas, exporting, grouped_nms, pool_rois, roi_align_args, shape_of,
                         topk_indices)

# The keypoint branch pools one more RoI than there are detections, this box (input pixels), so that
# none of its tensors is ever empty; its row is removed before the outputs.
SPARE_BOX = (0.0, 0.0, 32.0, 32.0)


def _check_nms(cfg, where):
    nms_cfg = cfg.get('nms', None) or {}
    if nms_cfg.get('type', 'nms') != 'nms' or 'iou_threshold' not in nms_cfg:
        raise ValueError(f"export supports {where}.nms=dict(type='nms', iou_threshold=...) only, "
                         f'got {dict(nms_cfg)}')
    return float(nms_cfg['iou_threshold']), bool(nms_cfg.get('class_agnostic', False))


def check_exportable(detector):
    """ValueError / TypeError naming the first part of ``detector`` the export does not reproduce."""
    if not getattr(detector, 'with_rpn', False) or not hasattr(detector.roi_head, 'keypoint_head'):
        raise TypeError('export needs a KeypointRCNN with an RPN and a KeypointRoIHead, got '
                        f'{type(detector).__name__}')
    rpn = detector.rpn_head
    if type(rpn).__name__ != 'RPNHead':
        raise TypeError(f"export supports mmdet's RPNHead, got {type(rpn).__name__}")
    roi_head = detector.roi_head
    if getattr(roi_head, 'with_mask', False):
        raise TypeError('export does not support a mask branch')
    head = roi_head.bbox_head
    if head.custom_cls_channels or not head.with_reg:
        raise TypeError('export supports box heads with softmax scores and box regression, got '
                        f'{type(head).__name__}')
    for extractor in (roi_head.bbox_roi_extractor, roi_head.keypoint_roi_extractor):
        for layer in extractor.roi_layers:
            roi_align_args(layer)
    _check_nms(rpn.test_cfg, 'test_cfg.rpn')
    _check_nms(roi_head.test_cfg, 'test_cfg.rcnn')


class KeypointRCNNExport(nn.Module):
    """A built ``KeypointRCNN`` (eval mode, weights loaded) as ``(img, img_shape) -> (dets, labels,
    keypoints)``.

    Args:
        detector (KeypointRCNN): the model; its ``test_cfg`` is followed (flip test included).
        flip_pairs (Sequence[tuple[int, int]] | None): keypoint pairs swapped by a horizontal flip;
            needed when ``test_cfg.rcnn.keypoint.flip_test`` is set.
    """

    def __init__(self, detector, flip_pairs=None):
        super().__init__()
        check_exportable(detector)
        self.detector = detector
        self.flip_test = detector.flip_test
        if self.flip_test and flip_pairs is None:
            raise ValueError('the config asks for flip test (test_cfg.rcnn.keypoint.flip_test): give '
                             'the keypoint flip pairs')
        self.flip_pairs = [(int(i), int(j)) for i, j in (flip_pairs or [])]

    @property
    def num_keypoints(self):
        return self.detector.roi_head.num_keypoints

    def forward(self, img, img_shape):
        """Detections and keypoints of one image.

        Args:
            img (Tensor[1, 3, H, W]): the image after the test pipeline (resized, normalised, padded).
            img_shape (Tensor[2]): long (h, w) of the image inside ``img`` before padding: boxes are
                clipped to it, as mmdet clips to ``img_meta['img_shape']``; (0, 0) means all of ``img``.

        Returns:
            tuple: ``dets`` Tensor[N, 5] (x1, y1, x2, y2, instance score), ``labels`` Tensor[N] (long) and
            ``keypoints`` Tensor[N, K, 3] (x, y, score), in the pixels of ``img``, best box score first.
        """
        if not exporting() and img.shape[0] != 1:
            raise ValueError(f'export runs one image at a time, got a batch of {img.shape[0]}')
        full = shape_of(img)[2:]
        hw = torch.where(img_shape > 0, img_shape.to(full.dtype), full).to(img.dtype)
        x = self.detector.extract_feat(img)
        proposals = self._proposals(x, hw)
        boxes, scores, labels = self._detections(x, proposals, hw)
        keypoints, instance_scores = self._keypoints(x, img, boxes, scores)
        return torch.cat([boxes, instance_scores[:, None]], dim=1), labels, keypoints

    def _proposals(self, x, hw):
        """RPNHead's proposals (``_get_bboxes_single`` + ``_bbox_post_process``): Tensor[P, 4]."""
        head = self.detector.rpn_head
        cfg = head.test_cfg
        iou_threshold, _ = _check_nms(cfg, 'test_cfg.rpn')
        nms_pre = cfg.get('nms_pre', -1)
        cls_scores, bbox_preds = head(x)
        all_scores, all_deltas, all_anchors, all_levels = [], [], [], []
        for level, (cls_score, bbox_pred) in enumerate(zip(cls_scores, bbox_preds)):
            cls_score = cls_score[0].permute(1, 2, 0)  # [h_l, w_l, A * classes]
            if head.use_sigmoid_cls:
                scores = cls_score.reshape(-1).sigmoid()
            else:
                scores = cls_score.reshape(-1, 2).softmax(dim=1)[:, 0]
            deltas = bbox_pred[0].permute(1, 2, 0).reshape(-1, 4)
            anchors = head.prior_generator.single_level_grid_priors(
                cls_score.shape[:2], level, dtype=cls_score.dtype, device=cls_score.device)
            if nms_pre > 0:
                top = topk_indices(scores, nms_pre)
                scores, deltas, anchors = scores[top], deltas[top], anchors[top]
            all_scores.append(scores)
            all_deltas.append(deltas)
            all_anchors.append(anchors)
            all_levels.append(torch.full_like(scores, level, dtype=torch.long))
        scores = torch.cat(all_scores)
        levels = torch.cat(all_levels)
        proposals = decode_deltas(head.bbox_coder, torch.cat(all_anchors), torch.cat(all_deltas), hw)
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            w = proposals[:, 2] - proposals[:, 0]
            h = proposals[:, 3] - proposals[:, 1]
            valid = ((w > min_size) & (h > min_size)).nonzero().squeeze(1)
            proposals, scores, levels = proposals[valid], scores[valid], levels[valid]
        keep = grouped_nms(proposals, scores, levels, iou_threshold)[:cfg.max_per_img]
        return proposals[keep]

    def _detections(self, x, proposals, hw):
        """The box head and ``multiclass_nms``: boxes Tensor[N, 4], scores Tensor[N], labels Tensor[N]."""
        roi_head = self.detector.roi_head
        head, extractor, cfg = roi_head.bbox_head, roi_head.bbox_roi_extractor, roi_head.test_cfg
        iou_threshold, class_agnostic = _check_nms(cfg, 'test_cfg.rcnn')
        rois = torch.cat([torch.zeros_like(proposals[:, :1]), proposals], dim=1)
        feats = pool_rois(extractor, x[:extractor.num_inputs], rois)
        if roi_head.with_shared_head:
            feats = roi_head.shared_head(feats)
        cls_score, bbox_pred = head(feats)
        num_classes = head.num_classes
        groups = 1 if head.reg_class_agnostic else num_classes
        boxes = decode_deltas(head.bbox_coder, proposals, bbox_pred, hw, groups)
        num = boxes.shape[0]
        boxes = boxes.reshape(num, groups, 4).expand(num, num_classes, 4).reshape(num * num_classes, 4)
        scores = F.softmax(cls_score, dim=-1)[:, :num_classes].reshape(num * num_classes)
        labels = torch.arange(num_classes, device=boxes.device)[None].expand(num, num_classes)
        labels = labels.reshape(num * num_classes)
        valid = (scores > cfg.score_thr).nonzero().squeeze(1)
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = grouped_nms(boxes, scores, labels * int(not class_agnostic), iou_threshold)
        if cfg.max_per_img > 0:
            keep = keep[:cfg.max_per_img]
        return boxes[keep], scores[keep], labels[keep]

    def _keypoints(self, x, img, boxes, scores):
        """The keypoint branch: keypoints Tensor[N, K, 3] and instance scores Tensor[N]."""
        roi_head = self.detector.roi_head
        extractor, head = roi_head.keypoint_roi_extractor, roi_head.keypoint_head
        with_spare = torch.cat([boxes, boxes.new_tensor([SPARE_BOX])])
        rois = torch.cat([torch.zeros_like(with_spare[:, :1]),
                          roi_head.expand_keypoint_rois(with_spare)],
                         dim=1)
        heatmaps = head(pool_rois(extractor, x[:extractor.num_inputs], rois))
        if self.flip_test:
            # as KeypointRCNN.simple_test: the padded input flipped, x -> W - x
            x_flip = self.detector.extract_feat(img.flip(3))
            width = shape_of(img)[3:].to(rois.dtype)
            rois_flip = torch.cat(
                [rois[:, :1], width - rois[:, 3:4], rois[:, 2:3], width - rois[:, 1:2], rois[:, 4:5]], dim=1)
            heatmaps_flip = head(pool_rois(extractor, x_flip[:extractor.num_inputs], rois_flip))
            heatmaps = 0.5 * (heatmaps + head.flip_back(heatmaps_flip, self.flip_pairs))
        coords, kpt_scores = head.decode(heatmaps, rois[:, 1:])
        num = boxes.shape[0]
        keypoints = torch.cat([coords, kpt_scores[..., None]], dim=-1)[:num]
        cfg = roi_head._keypoint_cfg(roi_head.test_cfg)
        if cfg.get('rescore', True):
            scores = rescore_instances(scores, kpt_scores[:num], cfg.get('score_thr', 0.2))
        return keypoints, scores
