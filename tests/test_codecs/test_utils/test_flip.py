"""flip_back_heatmaps: equal to mmpose's flip_back (+ shift_heatmap). The codecs' flip round trips are
in test_heatmap_codecs.py."""
import numpy as np
import pytest
import torch

from mmhrkpt.codecs.utils import flip_back_heatmaps

FLIP_PAIRS = [(1, 2), (3, 4), (5, 6)]


@pytest.mark.parametrize('shift', [False, True])
def test_matches_mmpose_flip_back(oracle, rng, shift):
    heatmaps = torch.rand(3, 7, 16, 12, generator=rng)
    flipped = flip_back_heatmaps(heatmaps, FLIP_PAIRS, shift=shift)
    np.testing.assert_array_equal(flipped.numpy(), oracle.flip_back(heatmaps, FLIP_PAIRS, shift))


def test_input_untouched_and_empty(rng):
    heatmaps = torch.rand(2, 7, 8, 6, generator=rng)
    copy = heatmaps.clone()
    flip_back_heatmaps(heatmaps, FLIP_PAIRS, shift=True)
    assert torch.equal(heatmaps, copy)
    assert flip_back_heatmaps(torch.zeros(0, 7, 8, 6), FLIP_PAIRS, True).shape == (0, 7, 8, 6)
    torch.testing.assert_close(flip_back_heatmaps(heatmaps, [], False), heatmaps.flip(-1))


def test_flip_indices_are_python_lists():
    from mmhrkpt.codecs.utils.flip import flip_indices
    assert flip_indices(5, 4, [(1, 2)], shift=False) == ([0, 2, 1, 3, 4], [3, 2, 1, 0])
    assert flip_indices(5, 4, [(1, 2), (3, 4)], shift=True) == ([0, 2, 1, 4, 3], [3, 3, 2, 1])
    with pytest.raises(IndexError, match='out of range'):
        flip_back_heatmaps(torch.zeros(1, 3, 4, 4), [(1, 3)])
