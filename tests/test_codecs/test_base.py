"""BaseKeypointCodec: the abstract interface, heatmap_size checks, and the RoI frame each codec wants."""
import pytest
import torch

from mmhrkpt.codecs import BaseKeypointCodec, DarkHeatmap, MSRAHeatmap, OneHotHeatmap, UDPHeatmap
from mmhrkpt.codecs.utils import expand_rois, pad_rois

HEATMAP_CODECS = [MSRAHeatmap, DarkHeatmap, UDPHeatmap]


class _NoDecode(BaseKeypointCodec):

    def encode(self, keypoints, rois):
        return keypoints, rois

    def flip_back(self, heatmaps, flip_pairs):
        return heatmaps


class _Complete(_NoDecode):

    def decode(self, heatmaps, rois):
        return heatmaps, rois


def test_subclass_missing_decode_cannot_be_instantiated():
    with pytest.raises(TypeError, match='decode'):
        _NoDecode((8, 6))
    with pytest.raises(TypeError):
        BaseKeypointCodec((8, 6))
    codec = _Complete((8, 6))
    assert codec.heatmap_size == (8, 6) and codec.aspect_ratio == 0.75
    assert repr(codec) == '_Complete(heatmap_size=(8, 6))'


@pytest.mark.parametrize('cls', HEATMAP_CODECS + [OneHotHeatmap])
def test_heatmap_size_must_be_h_w(cls):
    with pytest.raises(ValueError, match='heatmap_size'):
        cls(heatmap_size=(64, 48, 3))
    with pytest.raises(ValueError, match=r'\(H, W\) = \(16, 12\)'):
        cls(heatmap_size=(16, 12)).decode(torch.zeros(1, 2, 12, 16), torch.ones(1, 4))


def test_expand_rois_heatmap_codecs_take_the_heatmap_aspect_onehot_keeps_the_box():
    boxes = torch.tensor([[10.0, 20.0, 50.0, 30.0], [0.0, 0.0, 30.0, 40.0], [5.0, 5.0, 15.0, 105.0]])
    for cls in HEATMAP_CODECS:
        rois = cls(heatmap_size=(64, 48)).expand_rois(boxes, padding=1.25)
        assert torch.equal(rois, expand_rois(boxes, aspect_ratio=0.75, padding=1.25))
        size = rois[:, 2:] - rois[:, :2]
        torch.testing.assert_close(size[:, 0] / size[:, 1], torch.full((3, ), 0.75))
        square = cls(heatmap_size=(32, 32)).expand_rois(boxes, padding=1.0)
        square_size = square[:, 2:] - square[:, :2]
        torch.testing.assert_close(square_size[:, 0], square_size[:, 1])

    onehot = OneHotHeatmap(heatmap_size=(56, 56)).expand_rois(boxes, padding=1.25)
    assert torch.equal(onehot, pad_rois(boxes, padding=1.25))
    torch.testing.assert_close(onehot[:, 2:] - onehot[:, :2], (boxes[:, 2:] - boxes[:, :2]) * 1.25)
    torch.testing.assert_close((onehot[:, :2] + onehot[:, 2:]) / 2, (boxes[:, :2] + boxes[:, 2:]) / 2)
    assert not torch.allclose(onehot, MSRAHeatmap(heatmap_size=(56, 56)).expand_rois(boxes, padding=1.25))
