"""mmdet's RPN head selecting its proposals as torchvision's ``RegionProposalNetwork`` does.

Shape legend: A anchors per location, (h_l, w_l) level l's feature map, n proposals.

The layers (a 3x3 conv + ReLU, 1x1 objectness and 1x1 box deltas) and their state-dict layout are
mmdet's ``RPNHead``'s, which are torchvision's ``RPNHead``'s under other names. What differs is the
choice of proposals at test time (and, during training, of the proposals handed to the box head):

======================  ===============================  ===================================
step                    mmdet ``RPNHead``                torchvision (this head)
======================  ===============================  ===================================
top-k per level         sort of the sigmoid scores       ``topk`` of the logits
small boxes             ``w > min_bbox_size``            ``w >= min_size`` (1e-3)
score threshold         none                             ``score >= score_thr`` (0)
NMS per level           mmcv's ``batched_nms``           ``torchvision.ops.batched_nms``
======================  ===============================  ===================================

The two NMS differ where they batch the levels: mmcv offsets the boxes of each level by a multiple of
the largest coordinate below 10000 boxes, torchvision loops over the levels above 4000 coordinates on
CPU (20000 on GPU) and offsets below; the offsets' rounding changes IoUs in their last bits. Calling
torchvision's function keeps its choice. Box decoding is the config's ``bbox_coder``
(``TorchvisionDeltaXYWHBBoxCoder`` for torchvision's).
"""
import torch
from mmdet.models.builder import HEADS
from mmdet.models.dense_heads import RPNHead
from torchvision.ops import batched_nms, clip_boxes_to_image, remove_small_boxes


@HEADS.register_module()
class TorchvisionRPNHead(RPNHead):
    """``RPNHead`` (same arguments, layers and losses) with torchvision's proposal selection.

    ``test_cfg`` (and ``train_cfg.rpn_proposal``) keys: ``nms_pre`` (top-k per level, torchvision's
    ``pre_nms_top_n``), ``max_per_img`` (``post_nms_top_n``), ``nms=dict(type='nms',
    iou_threshold=...)``, ``min_bbox_size`` (torchvision's ``min_size``, 1e-3) and ``score_thr``
    (default 0).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.use_sigmoid_cls:
            raise ValueError('TorchvisionRPNHead scores anchors with a sigmoid, as torchvision does: '
                             'loss_cls needs use_sigmoid=True')

    def _get_bboxes_single(self,
                           cls_score_list,
                           bbox_pred_list,
                           score_factor_list,
                           mlvl_anchors,
                           img_meta,
                           cfg,
                           rescale=False,
                           with_nms=True,
                           **kwargs):
        """Proposals of one image.

        Args:
            cls_score_list (list[Tensor]): per level Tensor[A, h_l, w_l] objectness logits.
            bbox_pred_list (list[Tensor]): per level Tensor[4 A, h_l, w_l] deltas.
            score_factor_list: unused (mmdet's argument).
            mlvl_anchors (list[Tensor]): per level Tensor[h_l * w_l * A, 4].
            img_meta (dict): the image's meta (``img_shape`` clips the boxes).
            cfg (mmcv.ConfigDict | None): as the class docstring; None: ``self.test_cfg``.

        Returns:
            Tensor[n, 5]: (x1, y1, x2, y2, objectness probability), best first.
        """
        cfg = self.test_cfg if cfg is None else cfg
        if cfg.nms.get('type', 'nms') != 'nms':
            raise ValueError(f"TorchvisionRPNHead runs torchvision's NMS: nms.type must be 'nms', "
                             f'got {cfg.nms}')
        nms_pre = cfg.get('nms_pre', -1)
        boxes, logits, levels = [], [], []
        for level, (cls_score, bbox_pred,
                    anchors) in enumerate(zip(cls_score_list, bbox_pred_list, mlvl_anchors)):
            logit = cls_score.permute(1, 2, 0).reshape(-1)
            delta = bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            if 0 < nms_pre < logit.numel():
                logit, index = logit.topk(nms_pre)
                delta, anchors = delta[index], anchors[index]
            boxes.append(self.bbox_coder.decode(anchors, delta))
            logits.append(logit)
            levels.append(torch.full_like(logit, level, dtype=torch.long))
        boxes = clip_boxes_to_image(torch.cat(boxes), tuple(img_meta['img_shape'][:2]))
        scores = torch.cat(logits).sigmoid()
        levels = torch.cat(levels)

        keep = remove_small_boxes(boxes, cfg.get('min_bbox_size', 1e-3))
        boxes, scores, levels = boxes[keep], scores[keep], levels[keep]
        keep = torch.where(scores >= cfg.get('score_thr', 0.0))[0]
        boxes, scores, levels = boxes[keep], scores[keep], levels[keep]
        keep = batched_nms(boxes, scores, levels, cfg.nms.iou_threshold)[:cfg.max_per_img]
        return torch.cat([boxes[keep], scores[keep, None]], dim=1)
