"""The pieces of a Keypoint R-CNN's test path that mmdet writes in a way ONNX cannot hold, rewritten so
that the TorchScript-based ``torch.onnx.export`` traces them into standard operators.

Shape legend: M boxes, G groups (RPN levels or classes), L pyramid levels, N RoIs, C channels, (h, w)
the RoI output size.

Two rules make a traced graph valid for every input, not only the traced one:

* a size that depends on the data stays a tensor (``torch._shape_as_tensor``, ``nonzero``), never a
  Python int, and no Python ``if`` looks at data;
* no ``reshape(-1, ...)`` meets an empty tensor (onnxruntime cannot infer -1 from a zero-size input),
  which is why the keypoint branch always carries one spare RoI (``export_model``).

Each function gives mmdet's numbers: the same formulas in the same order of operations (box decoding),
the same offset trick for per-group NMS as mmcv's ``batched_nms``, and RoIAlign through torchvision's
kernel, which ``torch.onnx`` writes as ONNX ``RoiAlign`` and ``nms`` as ``NonMaxSuppression``.
"""
import math

import torch
from torchvision.ops import nms, roi_align

# mmdet's box coders decode with this clip of log(w / w_anchor) (``DeltaXYWHBBoxCoder.decode``'s
# default, which its RPN and box heads use).
WH_RATIO_CLIP = 16 / 1000
# The RoI layers that mean RoIAlign in average mode (mmcv's and mmhrkpt.ops').
ROI_ALIGN_LAYERS = ('RoIAlign', 'TVRoIAlign', 'SparseRoIAlign')


def exporting():
    """Whether the code runs under ``torch.onnx.export``'s tracer."""
    return torch.onnx.is_in_onnx_export()


def shape_of(tensor):
    """The sizes of ``tensor`` as Tensor[ndim] (long), an ONNX ``Shape`` when traced."""
    return torch._shape_as_tensor(tensor)


def topk_indices(scores, k):
    """Indices of the ``min(k, M)`` largest of ``scores`` (Tensor[M]), the largest first.

    mmdet sorts and keeps the first ``k`` when ``M > k`` and keeps everything otherwise; the kept set
    is the same (the order of equal scores may differ, as between any two sorts).
    """
    if exporting():
        count = torch.min(torch.cat([shape_of(scores)[:1], shape_of(scores).new_tensor([k])]))
        return scores.topk(count)[1]
    return scores.topk(min(k, scores.numel()))[1]


def grouped_nms(boxes, scores, groups, iou_threshold):
    """NMS inside each group, as mmcv's ``batched_nms``: boxes of group g are moved by
    ``g * (max coordinate + 1)`` so that no two groups overlap, then one NMS runs on all of them.

    Args:
        boxes (Tensor[M, 4]): (x1, y1, x2, y2).
        scores (Tensor[M]): scores.
        groups (Tensor[M]): long group of each box (RPN level, class).
        iou_threshold (float): boxes overlapping a better one of their group by more are dropped.

    Returns:
        Tensor[k]: long indices of the kept boxes, best score first.
    """
    # max over the boxes and 0, so that it is defined for no box; the same as mmcv's max over the
    # boxes alone unless every coordinate is negative (boxes clipped to the image never are)
    max_coordinate = torch.cat([boxes.flatten(), boxes.new_zeros(1)]).max()
    offsets = groups.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
    return nms(boxes + offsets[:, None], scores, float(iou_threshold))


def decode_deltas(coder, rois, deltas, max_hw, num_groups=1):
    """mmdet's ``delta2bbox`` (``DeltaXYWHBBoxCoder.decode``) with the image size as a tensor.

    Args:
        coder (DeltaXYWHBBoxCoder): its means, stds and clamps are used.
        rois (Tensor[M, 4]): boxes the deltas refer to.
        deltas (Tensor[M, 4 * G]): one (dx, dy, dw, dh) per group (class) and box.
        max_hw (Tensor[2]): (h, w) the decoded boxes are clipped to (when ``coder.clip_border``).
        num_groups (int): G.

    Returns:
        Tensor[M, 4 * G]: boxes (x1, y1, x2, y2) per group.
    """
    if type(coder).__name__ != 'DeltaXYWHBBoxCoder':
        raise TypeError(f'export supports DeltaXYWHBBoxCoder box coders only, got {type(coder).__name__}')
    num = deltas.shape[0]  # traced as a size, so explicit shapes below stay dynamic
    flat = deltas.reshape(num * num_groups, 4)
    means = flat.new_tensor(coder.means).view(1, -1)
    stds = flat.new_tensor(coder.stds).view(1, -1)
    denorm = flat * stds + means
    dxy, dwh = denorm[:, :2], denorm[:, 2:]
    rois_ = rois.repeat(1, num_groups).reshape(num * num_groups, 4)
    pxy = (rois_[:, :2] + rois_[:, 2:]) * 0.5
    pwh = rois_[:, 2:] - rois_[:, :2]
    dxy_wh = pwh * dxy
    max_ratio = abs(math.log(WH_RATIO_CLIP))
    if coder.add_ctr_clamp:
        dxy_wh = torch.clamp(dxy_wh, max=coder.ctr_clamp, min=-coder.ctr_clamp)
        dwh = torch.clamp(dwh, max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - (gwh * 0.5), gxy + (gwh * 0.5)], dim=-1)
    if coder.clip_border:
        upper = max_hw.to(boxes.dtype)[[1, 0, 1, 0]]  # (w, h, w, h)
        boxes = torch.min(boxes.clamp(min=0), upper)
    return boxes.reshape(num, 4 * num_groups)


def roi_align_args(layer):
    """The arguments of ``torchvision.ops.roi_align`` that reproduce one RoI layer of mmcv's interface.

    Args:
        layer (nn.Module): mmcv's ``RoIAlign`` or mmhrkpt's ``TVRoIAlign`` / ``SparseRoIAlign``.

    Returns:
        dict: ``output_size``, ``spatial_scale``, ``sampling_ratio``, ``aligned``.
    """
    name = type(layer).__name__
    if name not in ROI_ALIGN_LAYERS:
        raise TypeError(f'export supports the RoI layers {ROI_ALIGN_LAYERS}, got {name}')
    if getattr(layer, 'pool_mode', 'avg') != 'avg':
        raise ValueError(f"export supports RoIAlign with pool_mode='avg' only, got {layer.pool_mode!r}")
    return dict(
        output_size=tuple(int(s) for s in layer.output_size),
        spatial_scale=float(layer.spatial_scale),
        sampling_ratio=int(layer.sampling_ratio),
        aligned=bool(layer.aligned))


def pool_rois(extractor, feats, rois):
    """mmdet's ``SingleRoIExtractor``: each RoI pooled from the level its size maps to.

    Every level pools the RoIs it gets (``nonzero``, possibly none) and the pooled features are put
    back in the order of ``rois``.

    Args:
        extractor (SingleRoIExtractor): its levels (``map_roi_levels``) and RoI layers are used.
        feats (tuple[Tensor]): L maps Tensor[1, C, H_l, W_l], finest first.
        rois (Tensor[N, 5]): (batch index, x1, y1, x2, y2) in input pixels.

    Returns:
        Tensor[N, C, h, w]
    """
    args = [roi_align_args(layer) for layer in extractor.roi_layers]
    rois = rois.to(feats[0].dtype)
    if len(feats) == 1:
        return roi_align(feats[0], rois, **args[0])
    levels = extractor.map_roi_levels(rois, len(feats))
    pooled, order = [], []
    for level, (feat, level_args) in enumerate(zip(feats, args)):
        inds = (levels == level).nonzero().squeeze(1)
        pooled.append(roi_align(feat, rois[inds], **level_args))
        order.append(inds)
    return torch.cat(pooled)[torch.cat(order).argsort()]
