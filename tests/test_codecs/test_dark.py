"""DarkHeatmap: sub-cell decoding and its blur kernel (the mmpose equivalence is in
test_heatmap_codecs.py)."""
import pytest
import torch

from mmhrkpt.codecs import DarkHeatmap, MSRAHeatmap, build_codec


def test_dark_peak_between_cells():
    # A Gaussian (sigma 2) centred at (20.3, 10.6) cells: DARK's Newton step on the blurred log-map
    # recovers the sub-cell centre; image x = 100 + 20.3 * 2 px per cell, y = 0 + 10.6 * 1.
    rois = torch.tensor([[100.0, 0.0, 196.0, 64.0]])
    xs = torch.arange(48.0)
    ys = torch.arange(64.0)[:, None]
    heatmaps = torch.exp(-((xs - 20.3)**2 + (ys - 10.6)**2) / 8)[None, None]
    keypoints, scores = DarkHeatmap().decode(heatmaps, rois)
    torch.testing.assert_close(keypoints, torch.tensor([[[140.6, 10.6]]]), atol=0.02, rtol=0)
    msra, _ = MSRAHeatmap().decode(heatmaps, rois)
    torch.testing.assert_close(msra, torch.tensor([[[140.5, 10.75]]]))


def test_kernel_reaches_decoding(rng, make_rois):
    rois = make_rois(rng, 4)
    heatmaps = torch.rand(4, 5, 64, 48, generator=rng)
    codec = build_codec(dict(type='DarkHeatmap', kernel=17))
    assert codec.kernel == 17
    assert torch.equal(codec.decode(heatmaps, rois)[0], DarkHeatmap(kernel=17).decode(heatmaps, rois)[0])
    assert not torch.equal(codec.decode(heatmaps, rois)[0], DarkHeatmap(kernel=11).decode(heatmaps, rois)[0])
    with pytest.raises(ValueError):
        DarkHeatmap(kernel=4)


def test_target_is_the_untruncated_subcell_gaussian():
    # One pixel per cell: the keypoint at (20.3, 10.6) cells; the target is exp(-d^2 / 8) everywhere.
    rois = torch.tensor([[100.0, 200.0, 148.0, 264.0]])
    targets, weights = DarkHeatmap().encode(torch.tensor([[[120.3, 210.6, 2.0]]]), rois)
    xs = torch.arange(48.0)
    ys = torch.arange(64.0)[:, None]
    expected = torch.exp(-((xs - 20.3)**2 + (ys - 10.6)**2) / 8)
    torch.testing.assert_close(targets[0, 0], expected, atol=1e-6, rtol=1e-5)
    assert weights.tolist() == [[1.0]] and targets[0, 0, 10, 40] > 0  # 20 cells away: not cut
