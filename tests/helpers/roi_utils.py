"""Random RoIs, feature pyramids and extractors shared by the RoI-extractor tests."""
import torch
from mmdet.models.builder import build_roi_extractor

STRIDES = [4, 8, 16, 32]


def random_rois(num, img_size=256, num_imgs=2, min_size=4, seed=0):
    """Tensor[num, 5] (batch index, x1, y1, x2, y2) with sizes from tiny to the whole image."""
    g = torch.Generator().manual_seed(seed)
    wh = min_size + torch.rand(num, 2, generator=g)**2 * (img_size - min_size)
    xy = torch.rand(num, 2, generator=g) * (img_size - wh)
    idx = torch.randint(0, num_imgs, (num, 1), generator=g).float()
    return torch.cat([idx, xy, xy + wh], 1)


def feats_for(img_size=256, num_imgs=2, channels=8, strides=STRIDES, seed=1):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(num_imgs, channels, img_size // s, img_size // s, generator=g) for s in strides)


def build(type_, layer, strides=STRIDES, output_size=(32, 24)):
    return build_roi_extractor(
        dict(
            type=type_,
            roi_layer=dict(type=layer, output_size=output_size, sampling_ratio=2, aligned=True),
            out_channels=8,
            featmap_strides=strides))
