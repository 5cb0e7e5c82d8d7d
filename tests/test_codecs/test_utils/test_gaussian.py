"""Gaussian targets' building blocks and the cv2-equal blur kernels."""
import cv2
import numpy as np
import pytest
import torch

from mmhrkpt.codecs.utils import (cell_window, check_blur_kernel, gaussian_1d, gaussian_kernel_1d,
                                  keypoint_weights, separable_targets, window_1d)


@pytest.mark.parametrize('kernel', [1, 3, 5, 7, 9, 11, 17])
def test_gaussian_kernel_is_cv2s(kernel):
    expected = cv2.getGaussianKernel(kernel, 0)[:, 0]
    np.testing.assert_allclose(gaussian_kernel_1d(kernel).numpy(), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize('kernel', [0, -3, 4])
def test_blur_kernel_must_be_positive_odd(kernel):
    with pytest.raises(ValueError, match='kernel'):
        check_blur_kernel(kernel)
    with pytest.raises(ValueError, match='kernel'):
        gaussian_kernel_1d(kernel)


def test_window_is_exactly_zero_or_one():
    lower = torch.tensor([[[-3.0, 2.0], [5.0, 7.0]]])
    upper = lower + torch.tensor([[[6.0, 1.0], [13.0, 4.0]]])
    window = window_1d(lower, upper, 20)
    cells = torch.arange(20.0)
    expected = ((cells >= lower[..., None]) & (cells < upper[..., None])).float()
    assert torch.equal(window, expected)


def test_cell_window_and_weights_follow_mmpose():
    # sigma 2: radius 6; x_hm = 20.4 -> nearest cell 20 (mmpose's int(x + 0.5)), window [14, 27);
    # y_hm = -6.6 -> cell -6 (int truncates towards zero), window [-12, 1): it reaches row 0, so the
    # keypoint counts. y_hm = -8.6 -> cell -8, window [-14, -1): mmpose's ``br < 0``, it does not.
    mu = torch.tensor([[[20.4, -6.6], [20.4, -8.6]]])
    peak, lower, upper, centre = cell_window(mu, 2.0)
    assert peak.tolist() == [[[20.0, -6.0], [20.0, -8.0]]]
    assert lower[0, 0].tolist() == [14.0, -12.0] and upper[0, 0].tolist() == [27.0, 1.0]
    assert torch.equal(centre, peak)
    weights = keypoint_weights(torch.tensor([[2.0, 2.0]]), lower, upper, (64, 48))
    assert weights.tolist() == [[1.0, 0.0]]
    assert keypoint_weights(torch.tensor([[0.0, 2.0]]), lower, upper, (64, 48)).tolist() == [[0.0, 0.0]]


def test_separable_targets_are_the_2d_gaussian():
    centre = torch.tensor([[[5.3, 3.7]]])
    targets = separable_targets(gaussian_1d(centre, 10, 1.5), torch.ones(1, 1), (8, 10))
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(10.0), indexing='ij')
    expected = torch.exp(-((xs - 5.3)**2 + (ys - 3.7)**2) / (2 * 1.5**2))
    torch.testing.assert_close(targets[0, 0], expected)
    assert separable_targets(gaussian_1d(centre, 10, 1.5), torch.zeros(1, 1), (8, 10)).abs().max() == 0
