"""TorchvisionRoIExtractor against torchvision's MultiScaleRoIAlign (the oracle)."""
from collections import OrderedDict

import torch
from mmdet.models.builder import build_roi_extractor
from roi_utils import STRIDES, feats_for, random_rois
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.poolers import LevelMapper


def _extractor(output_size=7):
    return build_roi_extractor(
        dict(
            type='TorchvisionRoIExtractor',
            roi_layer=dict(type='TVRoIAlign', output_size=output_size, sampling_ratio=2, aligned=False),
            out_channels=8,
            featmap_strides=STRIDES))


def test_levels_equal_torchvisions_level_mapper():
    rois = random_rois(300, img_size=1024, num_imgs=1)
    side = torch.tensor([56.0, 112.0, 224.0, 448.0, 111.9999, 224.0001])  # the level boundaries
    rois = torch.cat([rois, torch.stack([torch.zeros(6), side * 0, side * 0, side, side], 1)])
    expected = LevelMapper(k_min=2, k_max=5)([rois[:, 1:]])
    assert torch.equal(_extractor().map_roi_levels(rois, 4), expected)


def test_pooled_features_equal_multiscale_roi_align():
    feats = feats_for(img_size=256, num_imgs=2)
    rois = random_rois(60, img_size=256, num_imgs=2)
    reference = MultiScaleRoIAlign(['0', '1', '2', '3'], 14, sampling_ratio=2)
    boxes = [rois[rois[:, 0] == b, 1:] for b in range(2)]
    order = torch.cat([torch.where(rois[:, 0] == b)[0] for b in range(2)])
    expected = reference(OrderedDict((str(i), f) for i, f in enumerate(feats)), boxes, [(256, 256)] * 2)
    assert torch.equal(_extractor(14)(feats, rois[order]), expected)
