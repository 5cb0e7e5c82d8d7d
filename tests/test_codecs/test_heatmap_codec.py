"""encode_heatmaps / decode_heatmaps: equal to mmpose 0.29, round trips, hand-computed peaks."""
import cv2
import numpy as np
import pytest
import torch

from mmhrkpt.codecs import decode_heatmaps, encode_heatmaps
from mmhrkpt.codecs.heatmap import gaussian_kernel_1d
from mmhrkpt.codecs.roi import heatmap_to_image, image_to_heatmap
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
    return heatmap_to_image(cells, rois, (height, width), udp=udp)


def assert_decode_matches(oracle, heatmaps, rois, method, min_conditioned=0.5):
    """Scores equal; keypoints within 0.01 image px where the refinement is well conditioned.

    Well conditioned: mmpose's refinement moves the argmax less than MAX_STEP cells. Longer steps come
    from near-singular Hessians (noise maps), which amplify float32 rounding into arbitrary offsets.
    """
    keypoints, scores = decode_heatmaps(heatmaps, rois, method)
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
def test_encode_matches_mmpose(oracle, rng, make_rois, make_keypoints, method, heatmap_size, sigma):
    rois = make_rois(rng, 12)
    keypoints = make_keypoints(rng, rois, NUM_KPTS, outside=0.35)
    targets, weights = encode_heatmaps(keypoints, rois, heatmap_size, sigma, method)
    expected_targets, expected_weights = oracle.encode(keypoints, rois, heatmap_size, sigma, method)

    assert targets.shape == (12, NUM_KPTS) + heatmap_size and weights.shape == (12, NUM_KPTS)
    assert targets.dtype == weights.dtype == torch.float32
    np.testing.assert_array_equal(weights.numpy(), expected_weights)
    np.testing.assert_allclose(targets.numpy(), expected_targets, atol=1e-4, rtol=0)
    # The case mix is what the test is about: labelled keypoints off the map and on it.
    labelled = keypoints[..., 2] > 0
    assert 0 < weights[labelled].sum() < labelled.sum()


@pytest.mark.parametrize('method', METHODS)
def test_decode_matches_mmpose_on_random_maps(oracle, rng, make_rois, method):
    rois = make_rois(rng, 10)
    heatmaps = torch.rand(10, NUM_KPTS, 64, 48, generator=rng)
    # Peaks on and next to every border: the refinements' boundary rules must agree too.
    for k, (row, col) in enumerate([(0, 5), (1, 7), (2, 9), (63, 0), (62, 1), (61, 2), (30, 47),
                                    (31, 46), (20, 45), (0, 0), (63, 47)]):
        heatmaps[:, k, row, col] = 2.0
    assert_decode_matches(oracle, heatmaps, rois, method)


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('heatmap_size', [(64, 48), (32, 24)])
def test_decode_matches_mmpose_on_gaussian_peaks(oracle, rng, make_rois, method, heatmap_size):
    rois = make_rois(rng, 20)
    heatmaps, _ = gaussian_peaks(rng, 20, NUM_KPTS, heatmap_size)
    conditioned = assert_decode_matches(oracle, heatmaps, rois, method, min_conditioned=0.95)
    assert conditioned.mean() >= 0.95


@pytest.mark.parametrize('method', ('msra', 'dark'))
def test_nonpositive_maxima_decode_as_mmpose(oracle, rng, make_rois, method):
    rois = make_rois(rng, 3)
    heatmaps = -torch.rand(3, NUM_KPTS, 64, 48, generator=rng)
    heatmaps[1] = 0.0
    keypoints, scores = decode_heatmaps(heatmaps, rois, method)
    expected, expected_scores = oracle.decode(heatmaps, rois, method)
    np.testing.assert_allclose(keypoints.numpy(), expected, atol=1e-3)
    np.testing.assert_array_equal(scores.numpy(), expected_scores)


def test_nonpositive_maxima_udp_decode_to_minus_one_cell(rng, make_rois):
    # mmpose refines these from a neighbourhood read out of another map; mmhrkpt keeps the (-1, -1)
    # cell, as for msra and dark.
    rois = make_rois(rng, 3)
    heatmaps = -torch.rand(3, NUM_KPTS, 64, 48, generator=rng)
    keypoints, _ = decode_heatmaps(heatmaps, rois, 'udp')
    cells = image_to_heatmap(keypoints, rois, (64, 48), udp=True)
    torch.testing.assert_close(cells, torch.full_like(cells, -1.0), atol=1e-4, rtol=0)


@pytest.mark.parametrize('method,tolerance', [('dark', 0.05), ('udp', 0.05), ('msra', 0.5)])
def test_encode_decode_round_trip(rng, make_rois, method, tolerance):
    rois = make_rois(rng, 30)
    frac = 0.15 + 0.7 * torch.rand(30, NUM_KPTS, 2, generator=rng)
    xy = rois[:, None, :2] + frac * (rois[:, None, 2:] - rois[:, None, :2])
    keypoints = torch.cat([xy, torch.full((30, NUM_KPTS, 1), 2.0)], dim=-1)
    targets, weights = encode_heatmaps(keypoints, rois, (64, 48), 2.0, method)
    assert bool((weights == 1).all())
    decoded, scores = decode_heatmaps(targets, rois, method)
    udp = method == 'udp'
    error = (image_to_heatmap(decoded, rois, (64, 48), udp) - image_to_heatmap(xy, rois, (64, 48), udp))
    assert error.abs().max() < tolerance
    assert bool((scores > 0.5).all())


def test_known_peak_decodes_to_known_pixel():
    # RoI of 48 x 64 px for a 64 x 48 heatmap: one pixel per cell (msra/dark), x = 100 + column.
    rois = torch.tensor([[100.0, 200.0, 148.0, 264.0]])
    heatmaps = torch.zeros(1, 3, 64, 48)
    heatmaps[0, 0, 10, 20] = 1.0  # symmetric neighbours: no shift
    heatmaps[0, 1, 10, 20] = 1.0
    heatmaps[0, 1, 10, 21] = 0.5  # right neighbour higher: +0.25 in x
    heatmaps[0, 1, 9, 20] = 0.5  # upper neighbour higher: -0.25 in y
    heatmaps[0, 2, 0, 30] = 0.7  # on the border: no shift
    keypoints, scores = decode_heatmaps(heatmaps, rois, 'msra')
    expected = torch.tensor([[[120.0, 210.0], [120.25, 209.75], [130.0, 200.0]]])
    torch.testing.assert_close(keypoints, expected)
    torch.testing.assert_close(scores, torch.tensor([[1.0, 1.0, 0.7]]))

    # udp: a 47 x 63 px RoI spans the 48 x 64 cell centres, one pixel per cell again.
    udp_rois = torch.tensor([[100.0, 200.0, 147.0, 263.0]])
    symmetric = torch.zeros(1, 1, 64, 48)
    symmetric[0, 0, 9:12, 19:22] = torch.tensor([[0.5, 0.6, 0.5], [0.6, 1.0, 0.6], [0.5, 0.6, 0.5]])
    keypoints, _ = decode_heatmaps(symmetric, udp_rois, 'udp')
    torch.testing.assert_close(keypoints, torch.tensor([[[120.0, 210.0]]]))


def test_dark_peak_between_cells():
    # A Gaussian (sigma 2) centred at (20.3, 10.6) cells: DARK's Newton step on the blurred log-map
    # recovers the sub-cell centre; image x = 100 + 20.3 * 2 px per cell, y = 0 + 10.6 * 1.
    rois = torch.tensor([[100.0, 0.0, 196.0, 64.0]])
    xs = torch.arange(48.0)
    ys = torch.arange(64.0)[:, None]
    heatmaps = torch.exp(-((xs - 20.3)**2 + (ys - 10.6)**2) / 8)[None, None]
    keypoints, scores = decode_heatmaps(heatmaps, rois, 'dark')
    torch.testing.assert_close(keypoints, torch.tensor([[[140.6, 10.6]]]), atol=0.02, rtol=0)
    msra, _ = decode_heatmaps(heatmaps, rois, 'msra')
    torch.testing.assert_close(msra, torch.tensor([[[140.5, 10.75]]]))


@pytest.mark.parametrize('method', METHODS)
def test_unlabelled_keypoints_get_zero_weight(method):
    rois = torch.tensor([[0.0, 0.0, 48.0, 64.0], [10.0, 10.0, 58.0, 74.0]])
    keypoints = torch.tensor([[[24.0, 30.0, 0.0], [24.0, 30.0, 1.0], [24.0, 30.0, 2.0]],
                              [[30.0, 40.0, 2.0], [30.0, 40.0, 0.0], [500.0, 40.0, 2.0]]])
    targets, weights = encode_heatmaps(keypoints, rois, (64, 48), 2.0, method)
    torch.testing.assert_close(weights, torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]))
    assert targets[weights == 0].abs().max() == 0
    assert bool((targets.flatten(2).max(dim=2).values[weights == 1] > 0.9).all())


@pytest.mark.parametrize('method', METHODS)
def test_empty_inputs(method):
    targets, weights = encode_heatmaps(torch.zeros(0, NUM_KPTS, 3), torch.zeros(0, 4), (64, 48), 2.0,
                                       method)
    assert targets.shape == (0, NUM_KPTS, 64, 48) and weights.shape == (0, NUM_KPTS)
    keypoints, scores = decode_heatmaps(torch.zeros(0, NUM_KPTS, 64, 48), torch.zeros(0, 4), method)
    assert keypoints.shape == (0, NUM_KPTS, 2) and scores.shape == (0, NUM_KPTS)
    keypoints, scores = decode_heatmaps(torch.zeros(2, 0, 64, 48), torch.zeros(2, 4), method)
    assert keypoints.shape == (2, 0, 2) and scores.shape == (2, 0)


@pytest.mark.parametrize('method', METHODS)
def test_decode_leaves_heatmaps_untouched(rng, make_rois, method):
    heatmaps = torch.rand(4, NUM_KPTS, 64, 48, generator=rng)
    copy = heatmaps.clone()
    decode_heatmaps(heatmaps, make_rois(rng, 4), method)
    assert torch.equal(heatmaps, copy)


def test_unknown_method_raises():
    with pytest.raises(ValueError):
        encode_heatmaps(torch.zeros(1, 1, 3), torch.ones(1, 4), (64, 48), method='megvii')
    with pytest.raises(ValueError):
        decode_heatmaps(torch.zeros(1, 1, 64, 48), torch.ones(1, 4), method='megvii')


@pytest.mark.parametrize('kernel', [1, 3, 5, 7, 9, 11, 17])
def test_gaussian_kernel_is_cv2s(kernel):
    expected = cv2.getGaussianKernel(kernel, 0)[:, 0]
    np.testing.assert_allclose(gaussian_kernel_1d(kernel).numpy(), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('method', METHODS)
def test_cuda_matches_cpu(rng, make_rois, make_keypoints, method):
    rois = make_rois(rng, 8)
    keypoints = make_keypoints(rng, rois, NUM_KPTS)
    targets, weights = encode_heatmaps(keypoints, rois, (64, 48), 2.0, method)
    targets_cuda, weights_cuda = encode_heatmaps(keypoints.cuda(), rois.cuda(), (64, 48), 2.0, method)
    assert targets_cuda.is_cuda and weights_cuda.is_cuda
    torch.testing.assert_close(targets_cuda.cpu(), targets, atol=1e-5, rtol=0)
    torch.testing.assert_close(weights_cuda.cpu(), weights)
    heatmaps, _ = gaussian_peaks(rng, 8, NUM_KPTS, (64, 48))
    decoded, scores = decode_heatmaps(heatmaps, rois, method)
    decoded_cuda, scores_cuda = decode_heatmaps(heatmaps.cuda(), rois.cuda(), method)
    assert decoded_cuda.is_cuda and scores_cuda.is_cuda
    torch.testing.assert_close(decoded_cuda.cpu(), decoded, atol=1e-3, rtol=0)
    torch.testing.assert_close(scores_cuda.cpu(), scores)
