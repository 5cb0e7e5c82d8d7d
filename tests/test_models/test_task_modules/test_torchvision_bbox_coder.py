"""TorchvisionDeltaXYWHBBoxCoder against torchvision's BoxCoder (the oracle), bit for bit."""
import pytest
import torch
from mmdet.core.bbox import build_bbox_coder
from torchvision.models.detection._utils import BoxCoder
from torchvision.ops import clip_boxes_to_image


def _boxes(g, num):
    xy = torch.rand(num, 2, generator=g) * 300
    return torch.cat([xy, xy + 1 + torch.rand(num, 2, generator=g) * 200], dim=1)


@pytest.mark.parametrize('weights', [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
def test_decode_and_encode_equal_torchvision(weights):
    g = torch.Generator().manual_seed(0)
    boxes = _boxes(g, 50)
    deltas = torch.randn(50, 8, generator=g) * 6  # large log-ratios: the clamp matters
    coder = build_bbox_coder(dict(type='TorchvisionDeltaXYWHBBoxCoder', weights=weights))
    reference = BoxCoder(weights)
    expected = reference.decode(deltas, [boxes]).reshape(50, 8)
    assert torch.equal(coder.decode(boxes, deltas), expected)
    clipped = clip_boxes_to_image(expected.reshape(-1, 4), (200, 300)).reshape(50, 8)
    assert torch.equal(coder.decode(boxes, deltas, max_shape=(200, 300, 3)), clipped)
    gt = _boxes(g, 50)
    assert torch.equal(coder.encode(boxes, gt), reference.encode_single(gt, boxes))


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match='weights'):
        build_bbox_coder(dict(type='TorchvisionDeltaXYWHBBoxCoder', weights=(1.0, 1.0)))
