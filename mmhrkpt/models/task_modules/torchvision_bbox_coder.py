"""torchvision's box coder (``torchvision.models.detection._utils.BoxCoder``) as an mmdet bbox coder.

Shape legend: n boxes, C classes (deltas of C classes side by side, 4 C columns).

The parametrisation is mmdet's ``DeltaXYWHBBoxCoder``'s (centre offsets in box sizes, log size
ratios), but three details differ, each enough to change a decoded box in its last bits or more:

* torchvision divides the deltas by ``weights`` (RPN (1, 1, 1, 1), box head (10, 10, 5, 5)); mmdet
  multiplies them by ``stds`` (0.1 is not a binary fraction, so ``d * 0.1 != d / 10``);
* torchvision clamps dw, dh only from above, at ``log(1000 / 16)``; mmdet clamps both sides;
* torchvision's centre is ``x1 + 0.5 * w``, mmdet's ``(x1 + x2) * 0.5``.

This coder computes torchvision's expressions in torchvision's order, so decoded boxes are torchvision's
bit for bit; encoding (training targets) is torchvision's too.
"""
import math

import torch
from mmdet.core.bbox.builder import BBOX_CODERS
from mmdet.core.bbox.coder.base_bbox_coder import BaseBBoxCoder

# torchvision's clamp of the predicted log size ratios before exp().
BBOX_XFORM_CLIP = math.log(1000.0 / 16)


def _centres_and_sizes(boxes):
    """Tensor[n, 4] -> widths, heights, centre x, centre y (each Tensor[n]), torchvision's way."""
    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    return widths, heights, boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights


@BBOX_CODERS.register_module()
class TorchvisionDeltaXYWHBBoxCoder(BaseBBoxCoder):
    """Box deltas as torchvision's Faster/Keypoint R-CNN encodes and decodes them.

    Args:
        weights (tuple[float]): (wx, wy, ww, wh): deltas are divided by them when decoding and
            multiplied when encoding; torchvision's RPN uses (1, 1, 1, 1), its box head (10, 10, 5, 5).
        bbox_xform_clip (float): upper clamp of dw and dh before exp().
    """

    def __init__(self, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=BBOX_XFORM_CLIP):
        super().__init__()
        if len(weights) != 4:
            raise ValueError(f'weights must be (wx, wy, ww, wh), got {weights}')
        self.weights = tuple(float(w) for w in weights)
        self.bbox_xform_clip = float(bbox_xform_clip)

    def encode(self, bboxes, gt_bboxes):
        """Deltas that take ``bboxes`` (Tensor[n, 4]) to ``gt_bboxes`` (Tensor[n, 4]) -> Tensor[n, 4]."""
        wx, wy, ww, wh = self.weights
        ex_w, ex_h, ex_x, ex_y = _centres_and_sizes(bboxes.float())
        gt_w, gt_h, gt_x, gt_y = _centres_and_sizes(gt_bboxes.float())
        return torch.stack([
            wx * (gt_x - ex_x) / ex_w, wy *
            (gt_y - ex_y) / ex_h, ww * torch.log(gt_w / ex_w), wh * torch.log(gt_h / ex_h)
        ],
                           dim=1)

    def decode(self, bboxes, pred_bboxes, max_shape=None, wh_ratio_clip=None):
        """Apply deltas to boxes.

        Args:
            bboxes (Tensor[n, 4]): reference boxes (anchors or proposals).
            pred_bboxes (Tensor[n, 4 C]): deltas, C classes side by side.
            max_shape (tuple[int] | None): (h, w, ...) of the image: boxes are clipped to
                [0, w] x [0, h] (torchvision's ``clip_boxes_to_image``).
            wh_ratio_clip: not used (mmdet's argument; the clamp is ``bbox_xform_clip``).

        Returns:
            Tensor[n, 4 C]: boxes (x1, y1, x2, y2) per class.
        """
        if pred_bboxes.numel() == 0:
            return pred_bboxes.new_zeros(pred_bboxes.shape)
        bboxes = bboxes.to(pred_bboxes.dtype)
        widths, heights, ctr_x, ctr_y = _centres_and_sizes(bboxes)
        wx, wy, ww, wh = self.weights
        dx = pred_bboxes[:, 0::4] / wx
        dy = pred_bboxes[:, 1::4] / wy
        dw = torch.clamp(pred_bboxes[:, 2::4] / ww, max=self.bbox_xform_clip)
        dh = torch.clamp(pred_bboxes[:, 3::4] / wh, max=self.bbox_xform_clip)
        pred_ctr_x = dx * widths[:, None] + ctr_x[:, None]
        pred_ctr_y = dy * heights[:, None] + ctr_y[:, None]
        half_w = 0.5 * (torch.exp(dw) * widths[:, None])
        half_h = 0.5 * (torch.exp(dh) * heights[:, None])
        boxes = torch.stack(
            [pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w, pred_ctr_y + half_h], dim=2)
        if max_shape is not None:
            height, width = max_shape[:2]
            boxes[..., 0::2] = boxes[..., 0::2].clamp(min=0, max=width)
            boxes[..., 1::2] = boxes[..., 1::2].clamp(min=0, max=height)
        return boxes.flatten(1)

    def __repr__(self):
        return (f'{type(self).__name__}(weights={self.weights}, '
                f'bbox_xform_clip={self.bbox_xform_clip})')
