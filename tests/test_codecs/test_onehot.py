"""OneHotHeatmap: the classic Keypoint R-CNN codec (cell indices, cell-centre decoding, plain mirror)."""
import torch

from mmhrkpt.codecs import OneHotHeatmap
from mmhrkpt.codecs.utils import flip_back_heatmaps


def test_encode_gives_the_cell_index_and_inside_weights():
    codec = OneHotHeatmap(heatmap_size=(4, 8))  # RoI 80 x 40 px: cells of 10 x 10 px
    rois = torch.tensor([[100.0, 50.0, 180.0, 90.0]])
    keypoints = torch.tensor([[
        [125.0, 75.0, 2.0],  # cell (row 2, column 2)
        [180.0, 90.0, 1.0],  # on the far corner: the last cell
        [100.0, 50.0, 0.0],  # unlabelled
        [181.0, 60.0, 2.0]
    ]])  # outside the RoI
    targets, weights = codec.encode(keypoints, rois)
    assert targets.dtype == torch.long
    assert targets.tolist() == [[2 * 8 + 2, 3 * 8 + 7, 0, 0]]
    assert weights.tolist() == [[1.0, 1.0, 0.0, 0.0]]


def test_decode_returns_the_centre_of_the_best_cell():
    codec = OneHotHeatmap(heatmap_size=(4, 8))
    rois = torch.tensor([[100.0, 50.0, 180.0, 90.0]])
    logits = torch.full((1, 1, 4, 8), -30.0)
    logits[0, 0, 2, 5] = 30.0
    keypoints, scores = codec.decode(logits, rois)
    torch.testing.assert_close(keypoints, torch.tensor([[[155.0, 75.0]]]))
    assert scores.item() > 0.999


def test_encode_decode_round_trip_within_half_a_cell(rng, make_rois):
    codec = OneHotHeatmap(heatmap_size=(56, 56))
    rois = make_rois(rng, 6)
    frac = torch.rand(6, 5, 2, generator=rng)
    xy = rois[:, None, :2] + frac * (rois[:, None, 2:] - rois[:, None, :2])
    targets, weights = codec.encode(torch.cat([xy, torch.full((6, 5, 1), 2.0)], dim=-1), rois)
    assert bool((weights == 1).all())
    logits = torch.nn.functional.one_hot(targets, 56 * 56).float().reshape(6, 5, 56, 56) * 50
    decoded, _ = codec.decode(logits, rois)
    cell = ((rois[:, 2:] - rois[:, :2]) / 56)[:, None]
    assert bool(((decoded - xy).abs() <= cell / 2 + 1e-3).all())


def test_flip_back_is_the_plain_mirror(rng):
    heatmaps = torch.rand(2, 4, 14, 14, generator=rng)
    flipped = OneHotHeatmap(heatmap_size=(14, 14)).flip_back(heatmaps, [(0, 1)])
    assert torch.equal(flipped, flip_back_heatmaps(heatmaps, [(0, 1)], shift=False))
