"""Decoding building blocks: the argmax (first occurrence) and the refined point of each map."""
import torch

from mmhrkpt.codecs.utils import argmax_plus_offset, heatmap_argmax, no_keypoints, refine_msra


def test_argmax_is_the_first_maximum(rng):
    heatmaps = torch.rand(3, 4, 16, 12, generator=rng)
    heatmaps[0, 0] = 0.5  # a tie everywhere: the first cell
    heatmaps[1, 2, 3, 4] = heatmaps[1, 2, 9, 1] = 2.0  # two maxima: the first in row-major order
    flat, scores, px, py = heatmap_argmax(heatmaps)
    expected_scores, expected_index = heatmaps.reshape(12, -1).max(dim=1)
    assert torch.equal(scores, expected_scores)
    assert torch.equal(py * 12 + px, expected_index)
    assert (px[0], py[0]) == (0, 0) and (px[6], py[6]) == (4, 3)
    assert flat.shape == (12, 16 * 12)


def test_nonpositive_maxima_stay_at_minus_one():
    px, py = torch.tensor([3, 5]), torch.tensor([2, 7])
    offsets = torch.tensor([[0.25, -0.25], [0.25, 0.0]])
    coords = argmax_plus_offset(px, py, offsets, torch.tensor([0.7, 0.0]))
    assert coords.tolist() == [[3.25, 1.75], [-1.0, -1.0]]


def test_msra_step_only_inside_the_map():
    heatmaps = torch.zeros(1, 2, 8, 6)
    heatmaps[0, 0, 4, 3], heatmaps[0, 0, 4, 4], heatmaps[0, 0, 3, 3] = 1.0, 0.5, 0.5
    heatmaps[0, 1, 1, 3], heatmaps[0, 1, 1, 4] = 1.0, 0.5  # row 1: too close to the border
    flat, _, px, py = heatmap_argmax(heatmaps)
    assert refine_msra(flat, 8, 6, px, py).tolist() == [[0.25, -0.25], [0.0, 0.0]]


def test_no_keypoints_shapes():
    keypoints, scores = no_keypoints(torch.zeros(0, 17, 8, 6, dtype=torch.float64))
    assert keypoints.shape == (0, 17, 2) and scores.shape == (0, 17) and scores.dtype == torch.float64
