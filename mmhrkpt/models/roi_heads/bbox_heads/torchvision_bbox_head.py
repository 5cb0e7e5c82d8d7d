"""mmdet's two-FC box head post-processing its detections as torchvision's ``RoIHeads`` does.

Shape legend: n RoIs of an image, C foreground classes, m detections.

The layers are mmdet's ``Shared2FCBBoxHead``'s (torchvision's ``TwoMLPHead`` + ``FastRCNNPredictor``;
the converter reorders the class rows: torchvision puts the background first, mmdet last). At test time
mmdet's ``multiclass_nms`` and torchvision's ``postprocess_detections`` differ in three ways:

* torchvision drops boxes narrower or lower than ``min_bbox_size`` (1e-2) before NMS, mmdet keeps them;
* torchvision's ``batched_nms`` numbers the classes from 1 (0 is the background) and, below 4000
  coordinates on CPU (20000 on GPU), separates them by offsetting each class's boxes by
  ``label * (max coordinate + 1)``: even with one class the boxes are shifted, and that shift's rounding
  is part of its result, so the labels are passed as torchvision numbers them;
* torchvision runs NMS in the network input's frame and rescales the survivors afterwards; mmdet
  rescales first.
"""
import torch
import torch.nn.functional as F
from mmdet.models.builder import HEADS
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from torchvision.ops import batched_nms, remove_small_boxes


@HEADS.register_module()
class TorchvisionBBoxHead(Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` (same arguments, layers, losses) with torchvision's test post-processing.

    ``test_cfg.rcnn`` keys: ``score_thr`` (kept when ``score > score_thr``), ``min_bbox_size``
    (default 1e-2), ``nms=dict(type='nms', iou_threshold=...)``, ``max_per_img``.
    """

    def get_bboxes(self, rois, cls_score, bbox_pred, img_shape, scale_factor, rescale=False, cfg=None):
        """Detections of one image.

        Args:
            rois (Tensor[n, 5]): (batch index, x1, y1, x2, y2).
            cls_score (Tensor[n, C + 1]): class logits, background last.
            bbox_pred (Tensor[n, 4 C]): class-specific deltas.
            img_shape (tuple[int]): (h, w, ...) of the network input (boxes are clipped to it).
            scale_factor (np.ndarray[4]): input / original image, (w, h, w, h).
            rescale (bool): return boxes in the original image's pixels.
            cfg (mmcv.ConfigDict | None): the class docstring's keys; None gives mmdet's raw boxes
                and scores.

        Returns:
            tuple[Tensor[m, 5], Tensor[m]]: (x1, y1, x2, y2, score) best first, and 0-based labels.
        """
        if cfg is None:
            return super().get_bboxes(
                rois, cls_score, bbox_pred, img_shape, scale_factor, rescale=rescale, cfg=cfg)
        if cfg.nms.get('type', 'nms') != 'nms':
            raise ValueError(f"TorchvisionBBoxHead runs torchvision's NMS: nms.type must be 'nms', "
                             f'got {cfg.nms}')
        num_classes = self.num_classes
        scores = F.softmax(cls_score, dim=-1)[:, :num_classes]
        boxes = self.bbox_coder.decode(rois[:, 1:], bbox_pred, max_shape=img_shape)
        boxes = boxes.view(len(rois), -1, 4).expand(-1, num_classes, 4)
        labels = torch.arange(num_classes, device=scores.device).view(1, -1).expand_as(scores)
        boxes, scores, labels = boxes.reshape(-1, 4), scores.reshape(-1), labels.reshape(-1)

        keep = torch.where(scores > cfg.score_thr)[0]
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        keep = remove_small_boxes(boxes, min_size=cfg.get('min_bbox_size', 1e-2))
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        keep = batched_nms(boxes, scores, labels + 1, cfg.nms.iou_threshold)[:cfg.max_per_img]
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        if rescale and len(boxes) > 0:
            boxes = boxes / boxes.new_tensor(scale_factor)
        return torch.cat([boxes, scores[:, None]], dim=1), labels
