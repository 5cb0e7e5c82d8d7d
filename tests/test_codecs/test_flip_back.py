"""flip_back_heatmaps: equal to mmpose's flip_back (+ shift_heatmap), and the flip round trip."""
import numpy as np
import pytest
import torch

from mmhrkpt.codecs import decode_heatmaps, encode_heatmaps, flip_back_heatmaps
from mmhrkpt.codecs.roi import image_to_heatmap

FLIP_PAIRS = [(1, 2), (3, 4), (5, 6)]
IMAGE_WIDTH = 640.0


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


def flip_scene(keypoints, rois):
    """Flip keypoints and RoIs horizontally in an image of IMAGE_WIDTH and swap the flip pairs."""
    flipped = keypoints.clone()
    flipped[..., 0] = IMAGE_WIDTH - keypoints[..., 0]
    for left, right in FLIP_PAIRS:
        flipped[:, [left, right]] = flipped[:, [right, left]]
    flipped_rois = torch.stack(
        [IMAGE_WIDTH - rois[:, 2], rois[:, 1], IMAGE_WIDTH - rois[:, 0], rois[:, 3]], dim=1)
    return flipped, flipped_rois


def scene(rng, make_rois):
    rois = make_rois(rng, 10)
    frac = 0.15 + 0.7 * torch.rand(10, 7, 2, generator=rng)
    xy = rois[:, None, :2] + frac * (rois[:, None, 2:] - rois[:, None, :2])
    return torch.cat([xy, torch.full((10, 7, 1), 2.0)], dim=-1), rois


@pytest.mark.parametrize('method', ['udp', 'dark'])
def test_flip_round_trip_is_exact(rng, make_rois, method):
    # udp: x_hm -> W - 1 - x_hm is the array flip itself; dark: x_hm -> W - x_hm is the array flip
    # plus the one-column shift. Either way the flipped-back targets are the direct targets.
    keypoints, rois = scene(rng, make_rois)
    flipped_keypoints, flipped_rois = flip_scene(keypoints, rois)
    targets, _ = encode_heatmaps(keypoints, rois, (64, 48), 2.0, method)
    flipped_targets, _ = encode_heatmaps(flipped_keypoints, flipped_rois, (64, 48), 2.0, method)
    shift = method != 'udp'
    back = flip_back_heatmaps(flipped_targets, FLIP_PAIRS, shift=shift)
    # The shift repeats column 0 instead of the column that fell off the right edge.
    compared = slice(1, None) if shift else slice(None)
    torch.testing.assert_close(back[..., compared], targets[..., compared], atol=1e-5, rtol=0)

    decoded, _ = decode_heatmaps(back, rois, method)
    udp = method == 'udp'
    error = image_to_heatmap(decoded, rois, (64, 48), udp) - image_to_heatmap(
        keypoints[..., :2], rois, (64, 48), udp)
    assert error.abs().max() < 0.05


def test_msra_flip_round_trip_needs_the_shift(rng, make_rois):
    keypoints, rois = scene(rng, make_rois)
    flipped_keypoints, flipped_rois = flip_scene(keypoints, rois)
    targets, _ = encode_heatmaps(keypoints, rois, (64, 48), 2.0, 'msra')
    flipped_targets, _ = encode_heatmaps(flipped_keypoints, flipped_rois, (64, 48), 2.0, 'msra')
    truth = image_to_heatmap(keypoints[..., :2], rois, (64, 48))
    direct, _ = decode_heatmaps(targets, rois, 'msra')

    back = flip_back_heatmaps(flipped_targets, FLIP_PAIRS, shift=True)
    decoded, _ = decode_heatmaps(back, rois, 'msra')
    torch.testing.assert_close(decoded, direct)
    assert (image_to_heatmap(decoded, rois, (64, 48)) - truth).abs().max() <= 0.5 + 1e-4

    unshifted = flip_back_heatmaps(flipped_targets, FLIP_PAIRS, shift=False)
    decoded, _ = decode_heatmaps(unshifted, rois, 'msra')
    x_error = image_to_heatmap(decoded, rois, (64, 48))[..., 0] - truth[..., 0]
    assert (x_error < -0.5).all()  # one column short without the shift
