"""An RoI extractor that maps RoIs to pyramid levels as torchvision's ``MultiScaleRoIAlign`` does.

Shape legend: N RoIs, L pyramid levels.

Both libraries use the FPN paper's rule ``level = floor(k0 + log2(sqrt(w * h) / 224))``, clamped to
the levels present; mmdet writes it ``floor(log2(sqrt(w * h) / finest_scale + 1e-6))`` (eps inside the
log, level 0 = the finest map), torchvision ``floor(4 + log2(sqrt(w * h) / 224) + 1e-6)`` minus the
finest level's k (eps outside). The two agree except for RoIs whose size lies within float rounding of
a level boundary (112, 224, 448 pixels); this extractor computes torchvision's expression.
"""
import math

import torch
from mmdet.models.builder import ROI_EXTRACTORS

from .single_level_roi_extractor import SingleLevelRoIExtractor


@ROI_EXTRACTORS.register_module()
class TorchvisionRoIExtractor(SingleLevelRoIExtractor):
    """``SingleLevelRoIExtractor`` (same arguments and pooling) with torchvision's ``LevelMapper``.

    The finest level's k is ``log2(featmap_strides[0])`` (2 for stride 4), as torchvision infers it
    from the feature maps' scales.

    Args:
        canonical_scale (float): RoI size that maps to ``canonical_level`` (224).
        canonical_level (int): k of that level (4: stride 16).
        eps (float): added before the floor (1e-6).
        Others as ``SingleLevelRoIExtractor``.
    """

    def __init__(self,
                 roi_layer,
                 out_channels,
                 featmap_strides,
                 canonical_scale=224,
                 canonical_level=4,
                 eps=1e-6,
                 init_cfg=None):
        super().__init__(roi_layer, out_channels, featmap_strides, init_cfg=init_cfg)
        k_min = math.log2(featmap_strides[0])
        if k_min != int(k_min):
            raise ValueError(f'featmap_strides[0] must be a power of 2, got {featmap_strides[0]}')
        self.k_min = int(k_min)
        self.canonical_scale = canonical_scale
        self.canonical_level = canonical_level
        self.eps = eps

    def map_roi_levels(self, rois, num_levels):
        """Tensor[N, 5] RoIs (batch index, x1, y1, x2, y2) -> Tensor[N] level index in [0, L)."""
        scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
        levels = torch.floor(self.canonical_level + torch.log2(scale / self.canonical_scale) +
                             torch.tensor(self.eps, dtype=scale.dtype))
        levels = torch.clamp(levels, min=self.k_min, max=self.k_min + num_levels - 1)
        return levels.to(torch.int64) - self.k_min
