"""UDPHeatmap: corner-aligned pixel convention, hand-computed decoding, flip without shift (the mmpose
equivalence is in test_heatmap_codecs.py)."""
import pytest
import torch

from mmhrkpt.codecs import UDPHeatmap
from mmhrkpt.codecs.utils import flip_back_heatmaps, image_to_heatmap

NUM_KPTS = 17


def test_known_peak_decodes_to_known_pixel():
    # udp: a 47 x 63 px RoI spans the 48 x 64 cell centres, one pixel per cell again.
    udp_rois = torch.tensor([[100.0, 200.0, 147.0, 263.0]])
    symmetric = torch.zeros(1, 1, 64, 48)
    symmetric[0, 0, 9:12, 19:22] = torch.tensor([[0.5, 0.6, 0.5], [0.6, 1.0, 0.6], [0.5, 0.6, 0.5]])
    keypoints, _ = UDPHeatmap().decode(symmetric, udp_rois)
    torch.testing.assert_close(keypoints, torch.tensor([[[120.0, 210.0]]]))


def test_nonpositive_maxima_udp_decode_to_minus_one_cell(rng, make_rois):
    # mmpose refines these from a neighbourhood read out of another map; mmhrkpt keeps the (-1, -1)
    # cell, as for msra and dark.
    rois = make_rois(rng, 3)
    heatmaps = -torch.rand(3, NUM_KPTS, 64, 48, generator=rng)
    keypoints, _ = UDPHeatmap().decode(heatmaps, rois)
    cells = image_to_heatmap(keypoints, rois, (64, 48), align_corners=True)
    torch.testing.assert_close(cells, torch.full_like(cells, -1.0), atol=1e-4, rtol=0)


def test_roi_corners_fall_on_the_corner_cells():
    rois = torch.tensor([[100.0, 200.0, 147.0, 263.0]])
    keypoints = torch.tensor([[[100.0, 200.0, 2.0], [147.0, 263.0, 2.0]]])
    targets, weights = UDPHeatmap().encode(keypoints, rois)
    assert weights.tolist() == [[1.0, 1.0]]
    assert targets[0, 0, 0, 0] == 1.0 and targets[0, 1, 63, 47] == 1.0


def test_flip_back_is_the_plain_mirror(rng):
    heatmaps = torch.rand(2, 5, 64, 48, generator=rng)
    flipped = UDPHeatmap().flip_back(heatmaps, [(1, 2)])
    assert torch.equal(flipped, flip_back_heatmaps(heatmaps, [(1, 2)], shift=False))
    with pytest.raises(ValueError):
        UDPHeatmap().flip_back(torch.rand(2, 5, 32, 24), [(1, 2)])
