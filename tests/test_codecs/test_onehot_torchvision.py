"""TorchvisionOneHotHeatmap against torchvision's own keypoint functions (the oracle), in the continuous
frame: torchvision's keypoints are COCO pixel indices, ours are those plus 0.5."""
import pytest
import torch
from torchvision.models.detection.roi_heads import heatmaps_to_keypoints, keypoints_to_heatmap

from mmhrkpt.codecs import TorchvisionOneHotHeatmap, build_codec
from mmhrkpt.codecs.onehot_torchvision import COCO_INDEX_OFFSET
from mmhrkpt.codecs.utils import flip_back_heatmaps
from mmhrkpt.datasets.keypoint_meta import PIXEL_CENTER_OFFSET


def _rois_with_shared_sizes(rng, make_rois):
    rois = make_rois(rng, 12, min_size=0.3, max_size=300.0)  # the first ones thinner than a pixel
    rois[6:9] = rois[:3] + 7.25  # same sizes as rois 0-2 at other places: one resize for both
    return rois


def test_decode_equals_torchvision_bit_for_bit(rng, make_rois):
    rois = _rois_with_shared_sizes(rng, make_rois)
    logits = torch.randn(12, 17, 56, 56, generator=rng) * 3
    keypoints, scores = TorchvisionOneHotHeatmap().decode(logits, rois)
    expected, expected_scores = heatmaps_to_keypoints(logits, rois)
    assert torch.equal(keypoints, expected[..., :2] + COCO_INDEX_OFFSET)
    assert torch.equal(scores, expected_scores)


def test_encode_equals_torchvision(rng, make_rois, make_keypoints):
    rois = make_rois(rng, 10)
    keypoints = make_keypoints(rng, rois, 17)
    keypoints[0, 0, :2] = rois[0, 2:]  # a keypoint index on the far corner: the last cell
    keypoints[0, 0, 2] = 2
    continuous = keypoints.clone()
    continuous[..., :2] += COCO_INDEX_OFFSET
    targets, weights = TorchvisionOneHotHeatmap().encode(continuous, rois)
    expected, valid = keypoints_to_heatmap(keypoints, rois, 56)
    assert torch.equal(targets, expected)
    assert torch.equal(weights, valid.float())
    assert targets[0, 0] == 56 * 56 - 1


def test_offset_is_the_datasets_pixel_centre():
    assert COCO_INDEX_OFFSET == PIXEL_CENTER_OFFSET


def test_rectangular_maps_and_no_rois():
    codec = build_codec(dict(type='TorchvisionOneHotHeatmap', heatmap_size=(4, 8)))
    rois = torch.tensor([[10.0, 20.0, 90.0, 60.0]])  # cells of 10 x 10 px
    keypoints = torch.tensor([[[35.5, 45.5, 2.0], [95.5, 30.5, 1.0]]])  # index (35, 45); outside
    targets, weights = codec.encode(keypoints, rois)
    assert targets.tolist() == [[2 * 8 + 2, 0]] and weights.tolist() == [[1.0, 0.0]]
    keypoints, scores = codec.decode(torch.zeros(0, 2, 4, 8), torch.zeros(0, 4))
    assert keypoints.shape == (0, 2, 2) and scores.shape == (0, 2)


def test_rois_are_the_boxes_and_padding_is_refused():
    codec = TorchvisionOneHotHeatmap()
    boxes = torch.tensor([[1.0, 2.0, 30.0, 40.5]])
    assert torch.equal(codec.expand_rois(boxes, padding=1.0), boxes)
    with pytest.raises(ValueError, match='padding=1.0'):
        codec.expand_rois(boxes, padding=1.25)


def test_flip_back_is_the_plain_mirror(rng):
    heatmaps = torch.rand(2, 4, 14, 14, generator=rng)
    flipped = TorchvisionOneHotHeatmap(heatmap_size=(14, 14)).flip_back(heatmaps, [(0, 1)])
    assert torch.equal(flipped, flip_back_heatmaps(heatmaps, [(0, 1)], shift=False))
