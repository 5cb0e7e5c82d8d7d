"""RoI geometry: expand_rois / pad_rois and the image <-> heatmap mapping."""
import numpy as np
import pytest
import torch

from mmhrkpt.codecs.utils import (PIXEL_STD, expand_rois, heatmap_to_image, image_to_heatmap, pad_rois,
                                  rois_to_center_scale)


@pytest.mark.parametrize('aspect_ratio,padding', [(0.75, 1.25), (1.0, 1.0), (0.5, 1.5)])
def test_expand_rois_matches_mmpose_xywh2cs(oracle, rng, make_rois, aspect_ratio, padding):
    rois = make_rois(rng, 20)
    expanded = expand_rois(rois, aspect_ratio, padding)
    center, scale = rois_to_center_scale(expanded)
    for roi, c, s in zip(rois.double().numpy(), center.numpy(), scale.numpy()):
        x1, y1, x2, y2 = roi
        expected_center, expected_scale = oracle.xywh2cs(x1, y1, x2 - x1, y2 - y1, aspect_ratio, padding)
        np.testing.assert_allclose(c, expected_center, rtol=1e-5)
        np.testing.assert_allclose(s, expected_scale, rtol=1e-5)


def test_expand_rois_aspect_padding_centre():
    rois = torch.tensor([[0.0, 0.0, 30.0, 40.0], [10.0, 20.0, 110.0, 40.0], [5.0, 5.0, 15.0, 105.0]])
    expanded = expand_rois(rois)  # 3:4, padding 1.25
    expected = torch.tensor([
        [-3.75, -5.0, 33.75, 45.0],  # already 3:4: only padded
        [-2.5, -53.3333, 122.5, 113.3333],  # wide: height grows to 100 * 4/3
        [-36.875, -7.5, 56.875, 117.5]
    ])  # tall: width grows to 75
    torch.testing.assert_close(expanded, expected)
    size = expanded[:, 2:] - expanded[:, :2]
    torch.testing.assert_close(size[:, 0] / size[:, 1], torch.full((3, ), 0.75))
    torch.testing.assert_close((expanded[:, :2] + expanded[:, 2:]) / 2, (rois[:, :2] + rois[:, 2:]) / 2)


def test_expand_rois_degenerate_boxes():
    rois = torch.tensor([[5.0, 5.0, 5.0, 5.0], [10.0, 10.0, 10.0, 30.0], [0.0, 0.0, -4.0, 3.0]])
    expanded = expand_rois(rois)
    assert torch.isfinite(expanded).all()
    size = expanded[:, 2:] - expanded[:, :2]
    assert bool((size >= 1.0).all())
    torch.testing.assert_close(size[:, 0] / size[:, 1], torch.full((3, ), 0.75))
    torch.testing.assert_close((expanded[:, :2] + expanded[:, 2:]) / 2, (rois[:, :2] + rois[:, 2:]) / 2)
    assert expand_rois(torch.zeros(0, 4)).shape == (0, 4)


def test_center_scale_uses_pixel_std():
    center, scale = rois_to_center_scale(torch.tensor([[10.0, 20.0, 210.0, 420.0]]))
    torch.testing.assert_close(center, torch.tensor([[110.0, 220.0]]))
    torch.testing.assert_close(scale, torch.tensor([[200.0, 400.0]]) / PIXEL_STD)


@pytest.mark.parametrize('align_corners', [False, True])
def test_heatmap_mapping(rng, make_rois, align_corners):
    rois = torch.tensor([[100.0, 200.0, 196.0, 264.0]])
    corners = torch.tensor([[[100.0, 200.0], [196.0, 264.0]]])
    cells = image_to_heatmap(corners, rois, (64, 48), align_corners=align_corners)
    far = [47.0, 63.0] if align_corners else [48.0, 64.0]
    torch.testing.assert_close(cells, torch.tensor([[[0.0, 0.0], far]]))

    rois = make_rois(rng, 5)
    points = torch.rand(5, 3, 2, generator=rng) * 600
    back = heatmap_to_image(
        image_to_heatmap(points, rois, (64, 48), align_corners), rois, (64, 48), align_corners)
    torch.testing.assert_close(back, points)


def test_pad_rois_keeps_the_shape():
    rois = torch.tensor([[10., 20., 50., 30.], [0., 0., 0., 0.]])
    out = pad_rois(rois, padding=1.5)
    assert torch.allclose(out[0], torch.tensor([0., 17.5, 60., 32.5]))
    assert torch.allclose(out[1], torch.tensor([-0.75, -0.75, 0.75, 0.75]))  # clamped to 1 px
    assert torch.equal(pad_rois(rois[:1], padding=1.0), rois[:1])
