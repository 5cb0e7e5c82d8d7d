"""A drop-in ``SingleRoIExtractor`` without two CPU costs of mmdet's.

Shape legend: N RoIs, C channels, (h, w) the RoI output size, L pyramid levels.
"""
import torch.nn as nn
from mmcv.runner import force_fp32
from mmdet.models.builder import ROI_EXTRACTORS
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from torch.nn.modules.utils import _pair
from torchvision.ops import roi_align

from .sparse_roi_align import SparseRoIAlign


class TVRoIAlign(nn.Module):
    """``mmcv.ops.RoIAlign``'s interface (average pooling only) on ``torchvision.ops.roi_align``.

    Same arguments and the same output as mmcv's layer (the tests compare them); on CPU torchvision's
    kernel takes about half the time of mmcv 1.7's (docs/benchmarks.md). torchvision ships CUDA
    kernels too, so the layer works on either device.

    Args:
        output_size (int | tuple[int]): (h, w) of the output.
        spatial_scale (float): image coordinates -> feature-map coordinates (1 / stride).
        sampling_ratio (int): samples per bin along each axis; 0: adaptive, ceil(RoI size / bins)
            (mmcv's 0 and torchvision's -1 mean the same).
        pool_mode (str): only 'avg' (torchvision has no max mode).
        aligned (bool): continuous coordinates (pixel centres at +0.5), as mmdet's configs use.
    """

    def __init__(self, output_size, spatial_scale=1.0, sampling_ratio=0, pool_mode='avg',
                 aligned=True):
        super().__init__()
        if pool_mode != 'avg':
            raise ValueError(f"TVRoIAlign supports pool_mode='avg' only, got {pool_mode!r}")
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = bool(aligned)

    def forward(self, feats, rois):
        """Tensor[B, C, H, W] features, Tensor[N, 5] rois (batch index, x1, y1, x2, y2) ->
        Tensor[N, C, h, w]."""
        return roi_align(feats, rois.to(feats.dtype), self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)

    def __repr__(self):
        return (f'{self.__class__.__name__}(output_size={self.output_size}, '
                f'spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio}, '
                f'aligned={self.aligned})')


# RoI layers this module adds to the ones mmdet looks up in ``mmcv.ops``.
ROI_LAYERS = {'TVRoIAlign': TVRoIAlign, 'SparseRoIAlign': SparseRoIAlign}


@ROI_EXTRACTORS.register_module()
class FastSingleRoIExtractor(SingleRoIExtractor):
    """mmdet's ``SingleRoIExtractor`` (same arguments, same levels, same output) made cheaper.

    Two changes, both about CPU time and memory, none about the result:

    1. ``roi_layer`` may also be ``type='TVRoIAlign'`` (torchvision's kernel, see ``TVRoIAlign``) or
       ``type='SparseRoIAlign'`` (sparse matrix products, see ``SparseRoIAlign``); mmdet's
       ``build_roi_layers`` only looks in ``mmcv.ops``.
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
        roi_feats = feats[0].new_empty(rois.size(0), self.out_channels,
                                       *self.roi_layers[0].output_size)
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
