"""TorchvisionAnchorGenerator against torchvision's AnchorGenerator (the oracle)."""
import pytest
import torch
from mmdet.core.anchor import AnchorGenerator, build_prior_generator
from torchvision.models.detection.anchor_utils import AnchorGenerator as TVAnchorGenerator
from torchvision.models.detection.image_list import ImageList

STRIDES = [4, 8, 16, 32, 64]


def _featmap_sizes(height, width):
    """The FPN levels of a ResNet input of (height, width) (the pooled level: ceil of half)."""
    sizes = [(height // s, width // s) for s in STRIDES[:-1]]
    return sizes + [((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2)]


@pytest.mark.parametrize('height,width', [(800, 1216), (480, 736), (256, 256)])
def test_anchors_equal_torchvisions(height, width):
    ours = build_prior_generator(
        dict(type='TorchvisionAnchorGenerator', strides=STRIDES, ratios=[0.5, 1.0, 2.0], scales=[8]))
    reference = TVAnchorGenerator(((32, ), (64, ), (128, ), (256, ), (512, )), ((0.5, 1.0, 2.0), ) * 5)
    sizes = _featmap_sizes(height, width)
    images = ImageList(torch.zeros(1, 3, height, width), [(height, width)])
    expected = reference(images, [torch.zeros(1, 1, h, w) for h, w in sizes])[0]
    anchors = torch.cat(ours.grid_priors(sizes, device='cpu'))
    assert torch.equal(anchors, expected)


def test_mmdets_own_anchors_differ():
    """Why the variant exists: mmdet keeps fractional base anchors."""
    kwargs = dict(strides=STRIDES, ratios=[0.5, 1.0, 2.0], scales=[8])
    ours = build_prior_generator(dict(type='TorchvisionAnchorGenerator', **kwargs))
    assert not torch.equal(AnchorGenerator(**kwargs).base_anchors[0], ours.base_anchors[0])
    assert torch.equal(ours.base_anchors[0], ours.base_anchors[0].round())


def test_offset_centres_are_refused():
    with pytest.raises(ValueError, match='center_offset'):
        build_prior_generator(
            dict(type='TorchvisionAnchorGenerator', strides=[4], ratios=[1.0], scales=[8], center_offset=0.5))
