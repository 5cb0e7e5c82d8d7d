"""The three Gaussian heatmap codecs (MSRAHeatmap, DarkHeatmap, UDPHeatmap) against mmpose 0.29, and
the contract they share: round trips, weights, empty inputs, untouched inputs, flip round trips.

Each test names a codec by the mmpose method it equals ('msra', 'dark', 'udp'; conftest's
``CODEC_OF_METHOD``), which is also what the mmpose oracle takes. Codec-specific hand-computed cases are
in test_msra.py, test_dark.py and test_udp.py.
"""
import numpy as np
import pytest
import torch

from mmhrkpt.codecs.utils import flip_back_heatmaps, heatmap_to_image, image_to_heatmap
from mmhrkpt.testing.mmpose_reference import gaussian_peaks

METHODS = ('msra', 'dark', 'udp')
NUM_KPTS = 17
# Decoders are compared where mmpose's refinement moves the argmax less than this many cells.
MAX_STEP = 3


def argmax_in_image(heatmaps, rois, udp):
    """The argmax of every map, mapped to the image: Tensor[N, K, 2]."""
    num, num_kpts, height, width = heatmaps.shape
    index = heatmaps.reshape(num, num_kpts, -1).argmax(dim=-1)
    cells = torch.stack([index % width, index // width], dim=-1).float()
    return heatmap_to_image(cells, rois, (height, width), align_corners=udp)


def assert_decode_matches(oracle, codec, heatmaps, rois, method, min_conditioned=0.5):
    """Scores equal; keypoints within 0.01 image px where the refinement is well conditioned.

    Well conditioned: mmpose's refinement moves the argmax less than MAX_STEP cells. Longer steps come
    from near-singular Hessians (noise maps), which amplify float32 rounding into arbitrary offsets.
    """
    keypoints, scores = codec.decode(heatmaps, rois)
    expected, expected_scores = oracle.decode(heatmaps, rois, method)
    np.testing.assert_array_equal(scores.numpy(), expected_scores)

    cell = ((rois[:, 2:] - rois[:, :2]) / torch.tensor(heatmaps.shape[:-3:-1]).float())[:, None, :]
    start = argmax_in_image(heatmaps, rois, udp=method == 'udp').numpy()
    step_in_cells = np.abs(expected - start) / cell.numpy()
    conditioned = (step_in_cells < MAX_STEP).all(axis=-1)
    assert conditioned.mean() >= min_conditioned
    error = np.abs(keypoints.numpy() - expected).max(axis=-1)
    assert error[conditioned].max() < 0.01, (method, error[conditioned].max())
    return conditioned


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('heatmap_size,sigma', [((64, 48), 2.0), ((24, 40), 1.5), ((64, 48), 3.0)])
def test_encode_matches_mmpose(oracle, codec_of, rng, make_rois, make_keypoints, method, heatmap_size, sigma):
    rois = make_rois(rng, 12)
    keypoints = make_keypoints(rng, rois, NUM_KPTS, outside=0.35)
    targets, weights = codec_of(method, heatmap_size, sigma).encode(keypoints, rois)
    expected_targets, expected_weights = oracle.encode(keypoints, rois, heatmap_size, sigma, method)

    assert targets.shape == (12, NUM_KPTS) + heatmap_size and weights.shape == (12, NUM_KPTS)
    assert targets.dtype == weights.dtype == torch.float32
    np.testing.assert_array_equal(weights.numpy(), expected_weights)
    np.testing.assert_allclose(targets.numpy(), expected_targets, atol=1e-4, rtol=0)
    # The case mix is what the test is about: labelled keypoints off the map and on it.
    labelled = keypoints[..., 2] > 0
    assert 0 < weights[labelled].sum() < labelled.sum()


@pytest.mark.parametrize('method', METHODS)
def test_decode_matches_mmpose_on_random_maps(oracle, codec_of, rng, make_rois, method):
    rois = make_rois(rng, 10)
    heatmaps = torch.rand(10, NUM_KPTS, 64, 48, generator=rng)
    # Peaks on and next to every border: the refinements' boundary rules must agree too.
    for k, (row, col) in enumerate([(0, 5), (1, 7), (2, 9), (63, 0), (62, 1), (61, 2), (30, 47), (31, 46),
                                    (20, 45), (0, 0), (63, 47)]):
        heatmaps[:, k, row, col] = 2.0
    assert_decode_matches(oracle, codec_of(method), heatmaps, rois, method)


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('heatmap_size', [(64, 48), (32, 24)])
def test_decode_matches_mmpose_on_gaussian_peaks(oracle, codec_of, rng, make_rois, method, heatmap_size):
    rois = make_rois(rng, 20)
    heatmaps, _ = gaussian_peaks(rng, 20, NUM_KPTS, heatmap_size)
    conditioned = assert_decode_matches(
        oracle, codec_of(method, heatmap_size), heatmaps, rois, method, min_conditioned=0.95)
    assert conditioned.mean() >= 0.95


@pytest.mark.parametrize('method', ('msra', 'dark'))
def test_nonpositive_maxima_decode_as_mmpose(oracle, codec_of, rng, make_rois, method):
    rois = make_rois(rng, 3)
    heatmaps = -torch.rand(3, NUM_KPTS, 64, 48, generator=rng)
    heatmaps[1] = 0.0
    keypoints, scores = codec_of(method).decode(heatmaps, rois)
    expected, expected_scores = oracle.decode(heatmaps, rois, method)
    np.testing.assert_allclose(keypoints.numpy(), expected, atol=1e-3)
    np.testing.assert_array_equal(scores.numpy(), expected_scores)


@pytest.mark.parametrize('method,tolerance', [('dark', 0.05), ('udp', 0.05), ('msra', 0.5)])
def test_encode_decode_round_trip(codec_of, rng, make_rois, method, tolerance):
    rois = make_rois(rng, 30)
    frac = 0.15 + 0.7 * torch.rand(30, NUM_KPTS, 2, generator=rng)
    xy = rois[:, None, :2] + frac * (rois[:, None, 2:] - rois[:, None, :2])
    keypoints = torch.cat([xy, torch.full((30, NUM_KPTS, 1), 2.0)], dim=-1)
    codec = codec_of(method)
    targets, weights = codec.encode(keypoints, rois)
    assert bool((weights == 1).all())
    decoded, scores = codec.decode(targets, rois)
    udp = method == 'udp'
    error = (
        image_to_heatmap(decoded, rois, (64, 48), align_corners=udp) -
        image_to_heatmap(xy, rois, (64, 48), align_corners=udp))
    assert error.abs().max() < tolerance
    assert bool((scores > 0.5).all())


@pytest.mark.parametrize('method', METHODS)
def test_unlabelled_keypoints_get_zero_weight(codec_of, method):
    rois = torch.tensor([[0.0, 0.0, 48.0, 64.0], [10.0, 10.0, 58.0, 74.0]])
    keypoints = torch.tensor([[[24.0, 30.0, 0.0], [24.0, 30.0, 1.0], [24.0, 30.0, 2.0]],
                              [[30.0, 40.0, 2.0], [30.0, 40.0, 0.0], [500.0, 40.0, 2.0]]])
    targets, weights = codec_of(method).encode(keypoints, rois)
    torch.testing.assert_close(weights, torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]))
    assert targets[weights == 0].abs().max() == 0
    assert bool((targets.flatten(2).max(dim=2).values[weights == 1] > 0.9).all())


@pytest.mark.parametrize('method', METHODS)
def test_empty_inputs(codec_of, method):
    codec = codec_of(method)
    targets, weights = codec.encode(torch.zeros(0, NUM_KPTS, 3), torch.zeros(0, 4))
    assert targets.shape == (0, NUM_KPTS, 64, 48) and weights.shape == (0, NUM_KPTS)
    keypoints, scores = codec.decode(torch.zeros(0, NUM_KPTS, 64, 48), torch.zeros(0, 4))
    assert keypoints.shape == (0, NUM_KPTS, 2) and scores.shape == (0, NUM_KPTS)
    keypoints, scores = codec.decode(torch.zeros(2, 0, 64, 48), torch.zeros(2, 4))
    assert keypoints.shape == (2, 0, 2) and scores.shape == (2, 0)


@pytest.mark.parametrize('method', METHODS)
def test_decode_leaves_heatmaps_untouched(codec_of, rng, make_rois, method):
    heatmaps = torch.rand(4, NUM_KPTS, 64, 48, generator=rng)
    copy = heatmaps.clone()
    codec_of(method).decode(heatmaps, make_rois(rng, 4))
    assert torch.equal(heatmaps, copy)


@pytest.mark.cuda  # skipped without a GPU (tests/conftest.py)
@pytest.mark.parametrize('method', METHODS)
def test_cuda_matches_cpu(codec_of, rng, make_rois, make_keypoints, method):
    codec = codec_of(method)
    rois = make_rois(rng, 8)
    keypoints = make_keypoints(rng, rois, NUM_KPTS)
    targets, weights = codec.encode(keypoints, rois)
    targets_cuda, weights_cuda = codec.encode(keypoints.cuda(), rois.cuda())
    assert targets_cuda.is_cuda and weights_cuda.is_cuda
    torch.testing.assert_close(targets_cuda.cpu(), targets, atol=1e-5, rtol=0)
    torch.testing.assert_close(weights_cuda.cpu(), weights)
    heatmaps, _ = gaussian_peaks(rng, 8, NUM_KPTS, (64, 48))
    decoded, scores = codec.decode(heatmaps, rois)
    decoded_cuda, scores_cuda = codec.decode(heatmaps.cuda(), rois.cuda())
    assert decoded_cuda.is_cuda and scores_cuda.is_cuda
    torch.testing.assert_close(decoded_cuda.cpu(), decoded, atol=1e-3, rtol=0)
    torch.testing.assert_close(scores_cuda.cpu(), scores)


# ----------------------------------------------------------------------------- flip round trips
FLIP_PAIRS = [(1, 2), (3, 4), (5, 6)]
IMAGE_WIDTH = 640.0


def flip_scene(keypoints, rois):
    """Flip keypoints and RoIs horizontally in an image of IMAGE_WIDTH and swap the flip pairs."""
    flipped = keypoints.clone()
    flipped[..., 0] = IMAGE_WIDTH - keypoints[..., 0]
    for left, right in FLIP_PAIRS:
        flipped[:, [left, right]] = flipped[:, [right, left]]
    flipped_rois = torch.stack([IMAGE_WIDTH - rois[:, 2], rois[:, 1], IMAGE_WIDTH - rois[:, 0], rois[:, 3]],
                               dim=1)
    return flipped, flipped_rois


def scene(rng, make_rois):
    rois = make_rois(rng, 10)
    frac = 0.15 + 0.7 * torch.rand(10, 7, 2, generator=rng)
    xy = rois[:, None, :2] + frac * (rois[:, None, 2:] - rois[:, None, :2])
    return torch.cat([xy, torch.full((10, 7, 1), 2.0)], dim=-1), rois


@pytest.mark.parametrize('method', ['udp', 'dark'])
def test_flip_round_trip_is_exact(codec_of, rng, make_rois, method):
    # udp: x_hm -> W - 1 - x_hm is the array flip itself; dark: x_hm -> W - x_hm is the array flip
    # plus the one-column shift. Either way the flipped-back targets are the direct targets.
    codec = codec_of(method)
    keypoints, rois = scene(rng, make_rois)
    flipped_keypoints, flipped_rois = flip_scene(keypoints, rois)
    targets, _ = codec.encode(keypoints, rois)
    flipped_targets, _ = codec.encode(flipped_keypoints, flipped_rois)
    shift = method != 'udp'
    back = codec.flip_back(flipped_targets, FLIP_PAIRS)
    # The shift repeats column 0 instead of the column that fell off the right edge.
    compared = slice(1, None) if shift else slice(None)
    torch.testing.assert_close(back[..., compared], targets[..., compared], atol=1e-5, rtol=0)

    decoded, _ = codec.decode(back, rois)
    udp = method == 'udp'
    error = image_to_heatmap(
        decoded, rois, (64, 48), align_corners=udp) - image_to_heatmap(
            keypoints[..., :2], rois, (64, 48), align_corners=udp)
    assert error.abs().max() < 0.05


def test_msra_flip_round_trip_needs_the_shift(codec_of, rng, make_rois):
    codec = codec_of('msra')
    keypoints, rois = scene(rng, make_rois)
    flipped_keypoints, flipped_rois = flip_scene(keypoints, rois)
    targets, _ = codec.encode(keypoints, rois)
    flipped_targets, _ = codec.encode(flipped_keypoints, flipped_rois)
    truth = image_to_heatmap(keypoints[..., :2], rois, (64, 48))
    direct, _ = codec.decode(targets, rois)

    back = codec.flip_back(flipped_targets, FLIP_PAIRS)
    decoded, _ = codec.decode(back, rois)
    torch.testing.assert_close(decoded, direct)
    assert (image_to_heatmap(decoded, rois, (64, 48)) - truth).abs().max() <= 0.5 + 1e-4

    unshifted = flip_back_heatmaps(flipped_targets, FLIP_PAIRS, shift=False)
    decoded, _ = codec.decode(unshifted, rois)
    x_error = image_to_heatmap(decoded, rois, (64, 48))[..., 0] - truth[..., 0]
    assert (x_error < -0.5).all()  # one column short without the shift
