"""A drop-in for mmdet's ``SingleRoIExtractor`` (each RoI pooled from the one level its size maps
to) that takes the RoI layers of ``mmhrkpt.ops`` and makes no copy of the output per empty level.

Shape legend: N RoIs, C channels, (h, w) the RoI output size, L pyramid levels.
"""
import torch.nn as nn
from mmcv.runner import force_fp32
from mmdet.models.builder import ROI_EXTRACTORS
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

from mmhrkpt.ops import ROI_LAYERS


@ROI_EXTRACTORS.register_module()
class SingleLevelRoIExtractor(SingleRoIExtractor):
    """mmdet's ``SingleRoIExtractor`` (same arguments, same levels, same output) made cheaper.

    Two changes, both about CPU time and memory, none about the result:

    1. ``roi_layer`` may also be a layer of ``mmhrkpt.ops`` (``type='TVRoIAlign'``, torchvision's
       kernel, or ``type='SparseRoIAlign'``, sparse matrix products); mmdet's ``build_roi_layers``
       only looks in ``mmcv.ops``.
    2. mmdet adds ``0 * sum(params) + 0 * feats[i].sum()`` to the whole output for every level that
       gets no RoI (a guard against DDP waiting for unused parameters), a full copy of
       Tensor[N, C, h, w] per empty level (at inference up to three 78 MB copies per image for 100
       keypoint RoIs of 256 x 32 x 24). Here the zero terms are summed into one scalar, only in
       training, and added to the features of one level, so the graph still reaches every level.
    """

    def build_roi_layers(self, layer_cfg, featmap_strides):
        cfg = layer_cfg.copy()
        layer_cls = ROI_LAYERS.get(cfg['type'])
        if layer_cls is None:
            return super().build_roi_layers(layer_cfg, featmap_strides)
        cfg.pop('type')
        return nn.ModuleList([layer_cls(spatial_scale=1 / s, **cfg) for s in featmap_strides])

    @force_fp32(apply_to=('feats', ), out_fp16=True)
    def forward(self, feats, rois, roi_scale_factor=None):
        """Pool every RoI from its level.

        Args:
            feats (tuple[Tensor]): L maps Tensor[B, C, H_l, W_l], finest first.
            rois (Tensor[N, 5]): (batch index, x1, y1, x2, y2) in image pixels.
            roi_scale_factor (float | None): rescale the RoIs about their centres first.

        Returns:
            Tensor[N, C, h, w]
        """
        num_levels = len(feats)
        if num_levels == 1:
            if roi_scale_factor is not None:
                rois = self.roi_rescale(rois, roi_scale_factor)
            if len(rois) == 0:
                return feats[0].new_zeros(0, self.out_channels, *self.roi_layers[0].output_size)
            return self.roi_layers[0](feats[0], rois)

        target_lvls = self.map_roi_levels(rois, num_levels)
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        # every RoI gets exactly one level, so nothing of this buffer is left unwritten
        roi_feats = feats[0].new_empty(rois.size(0), self.out_channels, *self.roi_layers[0].output_size)
        zero = None  # sum of the zero terms of the empty levels (training only)
        pooled = []
        for i in range(num_levels):
            inds = (target_lvls == i).nonzero(as_tuple=False).squeeze(1)
            if inds.numel() > 0:
                pooled.append((inds, self.roi_layers[i](feats[i], rois[inds])))
            elif self.training:
                term = feats[i].sum() * 0.
                zero = term if zero is None else zero + term
        if zero is not None:
            zero = zero + sum(p.view(-1)[0] for p in self.parameters()) * 0.
            if pooled:
                inds, first = pooled[0]
                pooled[0] = (inds, first + zero)
            else:
                roi_feats = roi_feats + zero
        for inds, feat in pooled:
            roi_feats[inds] = feat
        return roi_feats
