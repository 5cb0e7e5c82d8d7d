"""torchvision's anchors (``torchvision.models.detection.anchor_utils.AnchorGenerator``) in mmdet.

Shape legend: A anchors per location, (h_l, w_l) the size of level l's feature map.

mmdet's ``AnchorGenerator`` with ``scales=[8]`` and ``strides=[4, 8, 16, 32, 64]`` makes the same
anchor shapes as torchvision's ``sizes=((32,), (64,), (128,), (256,), (512,))``, placed the same way
(base anchors centred on 0, shifted by multiples of the stride), except for two things:

* torchvision rounds the base anchors to whole pixels (``[-w, -h, w, h] / 2`` rounded), mmdet keeps
  them fractional: the 1:2 and 2:1 anchors differ by up to half a pixel;
* torchvision's stride of a level is ``input size // feature size`` per axis, not the nominal one: on
  an 800-pixel-high input the pooled level is 13 cells high and its vertical stride 800 // 13 = 61,
  not 64.

This generator does both as torchvision does. The input size is the finest level's size times its
stride, which holds whenever the padded input is a multiple of that stride (the pipelines pad to 32).
"""
import torch
from mmdet.core.anchor import AnchorGenerator
from mmdet.core.anchor.builder import PRIOR_GENERATORS


@PRIOR_GENERATORS.register_module()
class TorchvisionAnchorGenerator(AnchorGenerator):
    """mmdet's ``AnchorGenerator`` (same arguments) with torchvision's rounding and strides.

    Base anchor sizes are ``stride * scale`` (torchvision's ``sizes``); ``ratios`` are h / w as in both
    libraries. Only centred anchors (``center_offset=0``, no ``centers``) exist in torchvision.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.center_offset != 0 or self.centers is not None:
            raise ValueError('TorchvisionAnchorGenerator makes torchvision\'s centred anchors: '
                             f'center_offset must be 0 and centers None (got {self.center_offset}, '
                             f'{self.centers})')

    def gen_single_level_base_anchors(self, base_size, scales, ratios, center=None):
        """Tensor[A, 4] base anchors ``round([-w, -h, w, h] / 2)`` with ``w = size / sqrt(ratio)``,
        ``h = size * sqrt(ratio)``, ``size = base_size * scale`` (ratios outer, scales inner, as
        torchvision orders them)."""
        sizes = base_size * scales
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        if self.scale_major:
            ws = (w_ratios[:, None] * sizes[None, :]).view(-1)
            hs = (h_ratios[:, None] * sizes[None, :]).view(-1)
        else:
            ws = (sizes[:, None] * w_ratios[None, :]).view(-1)
            hs = (sizes[:, None] * h_ratios[None, :]).view(-1)
        return (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()

    def level_strides(self, featmap_sizes):
        """torchvision's per-level (stride_w, stride_h): input size // feature size, per axis.

        Args:
            featmap_sizes (list[tuple[int, int]]): (h_l, w_l) of every level, finest first.

        Returns:
            list[tuple[int, int]]
        """
        fine_w, fine_h = self.strides[0]
        input_h = int(featmap_sizes[0][0]) * int(fine_h)
        input_w = int(featmap_sizes[0][1]) * int(fine_w)
        return [(input_w // int(w), input_h // int(h)) for h, w in featmap_sizes]

    def grid_priors(self, featmap_sizes, dtype=torch.float32, device='cuda'):
        """Anchors of every level: list of Tensor[h_l * w_l * A, 4], locations row-major, the A
        anchors of a location together (mmdet's and torchvision's order)."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f'{self.num_levels} levels of anchors, {len(featmap_sizes)} feature maps')
        anchors = []
        for level, ((feat_h, feat_w),
                    (stride_w, stride_h)) in enumerate(zip(featmap_sizes, self.level_strides(featmap_sizes))):
            base = self.base_anchors[level].to(device=device, dtype=dtype)
            shift_x = torch.arange(int(feat_w), device=device).to(dtype) * stride_w
            shift_y = torch.arange(int(feat_h), device=device).to(dtype) * stride_h
            shift_xx, shift_yy = self._meshgrid(shift_x, shift_y)
            shifts = torch.stack([shift_xx, shift_yy, shift_xx, shift_yy], dim=-1)
            anchors.append((shifts[:, None, :] + base[None, :, :]).view(-1, 4))
        return anchors
