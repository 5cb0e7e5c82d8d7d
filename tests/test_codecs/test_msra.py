"""MSRAHeatmap: hand-computed decoding (the mmpose equivalence is in test_heatmap_codecs.py)."""
import torch

from mmhrkpt.codecs import MSRAHeatmap


def test_known_peak_decodes_to_known_pixel():
    # RoI of 48 x 64 px for a 64 x 48 heatmap: one pixel per cell (msra/dark), x = 100 + column.
    rois = torch.tensor([[100.0, 200.0, 148.0, 264.0]])
    heatmaps = torch.zeros(1, 3, 64, 48)
    heatmaps[0, 0, 10, 20] = 1.0  # symmetric neighbours: no shift
    heatmaps[0, 1, 10, 20] = 1.0
    heatmaps[0, 1, 10, 21] = 0.5  # right neighbour higher: +0.25 in x
    heatmaps[0, 1, 9, 20] = 0.5  # upper neighbour higher: -0.25 in y
    heatmaps[0, 2, 0, 30] = 0.7  # on the border: no shift
    keypoints, scores = MSRAHeatmap().decode(heatmaps, rois)
    expected = torch.tensor([[[120.0, 210.0], [120.25, 209.75], [130.0, 200.0]]])
    torch.testing.assert_close(keypoints, expected)
    torch.testing.assert_close(scores, torch.tensor([[1.0, 1.0, 0.7]]))


def test_target_peaks_on_the_nearest_cell():
    # One pixel per cell: x = 120.4 is x_hm = 20.4, nearest cell 20; y = 210.6 is y_hm = 10.6 -> 11.
    rois = torch.tensor([[100.0, 200.0, 148.0, 264.0]])
    targets, weights = MSRAHeatmap().encode(torch.tensor([[[120.4, 210.6, 2.0]]]), rois)
    assert weights.tolist() == [[1.0]]
    assert targets[0, 0, 11, 20] == 1.0 and targets[0, 0].flatten().argmax() == 11 * 48 + 20
    assert targets[0, 0, 11, 27] == 0 and targets[0, 0, 11, 26] > 0  # cut at 3 sigma = 6 cells
