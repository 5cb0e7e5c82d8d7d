"""Gaussian heatmap targets and the cv2-equal Gaussian blur kernels of DARK / UDP decoding.

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size; L = max(H, W).

A target is separable: ``exp(-((j - cx)^2 + (i - cy)^2) / (2 sigma^2))`` at cell (row i, column j) is
the product of an x factor over the W columns and a y factor over the H rows, so all N * K targets are
built from Tensor[N, K, 2, L] factors by one outer product. The codecs choose the centre ``(cx, cy)``
and whether the Gaussian is cut to a window around it:

* MSRA and UDP, as mmpose's ``TopDownGenerateTarget``: a window of ``2 r + 1`` cells (``r = 3 sigma``)
  around the nearest cell ``int(x_hm + 0.5)`` (:func:`cell_window`), outside which the target is 0;
* DARK: the untruncated Gaussian at the exact sub-cell position.

Either way a keypoint counts (weight 1) when it is labelled (v > 0) and its ``r``-window reaches the
map (:func:`keypoint_weights`), and its target is zero when it does not.

Each 1-D factor is floored at ``exp(-EXP_CUTOFF)`` (~4e-18), far below the 1e-4 the equivalence tests
compare to mmpose with (whose values there are smaller still, or 0).
"""
import torch

# Targets are cut this many sigmas from their centre (mmpose's "3-sigma rule"; DARK draws the whole map
# but uses the same radius to decide whether a keypoint is on the map at all).
GAUSSIAN_RADIUS_IN_SIGMAS = 3
# 1-D Gaussian factors are floored at exp(-EXP_CUTOFF), so that neither they nor the targets (products
# of two factors, >= 1.8e-35) are float32 denormals, which are ~100x slower to compute with on CPUs.
EXP_CUTOFF = 40.0
# cv2.getGaussianKernel(ksize, sigma<=0) uses these fixed kernels for ksize <= 9 (OpenCV 4.x).
_CV2_SMALL_GAUSSIAN_KERNELS = {
    1: (1.0, ),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
    9: (0.015625, 0.05078125, 0.1171875, 0.19921875, 0.234375, 0.19921875, 0.1171875, 0.05078125, 0.015625),
}


def cell_window(mu, sigma):
    """mmpose's MSRA / UDP target window around the nearest cell of each keypoint.

    Args:
        mu (Tensor[N, K, 2]): keypoints (x_hm, y_hm) in heatmap cells.
        sigma (float): Gaussian standard deviation in cells.

    Returns:
        tuple[Tensor[N, K, 2]]: ``peak`` (the nearest cell, mmpose's ``int(mu + 0.5)``), ``lower`` and
        ``upper`` (the integer window ``lower <= i < upper``) and ``centre`` (mmpose's patch centre
        ``lower + (2 r + 1) // 2``: ``peak``, except where truncating a non-integer radius moves it).
    """
    radius = GAUSSIAN_RADIUS_IN_SIGMAS * sigma
    # mmpose's int(): truncation towards zero, also for negative values.
    peak = torch.trunc(mu + 0.5)
    lower, upper = torch.trunc(peak - radius), torch.trunc(peak + radius + 1)
    # The Gaussian patch has 2 * radius + 1 cells and its centre at cell (2 * radius + 1) // 2.
    centre = lower + (2 * radius + 1) // 2
    return peak, lower, upper, centre


def subcell_window(mu, sigma):
    """DARK's window ``mu - r <= i < mu + r + 1`` (only used to decide if a keypoint is on the map).

    Args:
        mu (Tensor[N, K, 2]): keypoints (x_hm, y_hm) in heatmap cells.
        sigma (float): Gaussian standard deviation in cells.

    Returns:
        tuple[Tensor[N, K, 2], Tensor[N, K, 2]]: ``lower`` and ``upper``.
    """
    radius = GAUSSIAN_RADIUS_IN_SIGMAS * sigma
    return mu - radius, mu + radius + 1


def keypoint_weights(visibility, lower, upper, heatmap_size):
    """1 for keypoints that are labelled and whose window reaches the map, else 0, as mmpose decides.

    Args:
        visibility (Tensor[N, K]): v of each keypoint (0 = unlabelled).
        lower, upper (Tensor[N, K, 2]): each keypoint's window (x, y) in heatmap cells.
        heatmap_size (tuple[int, int]): (H, W).

    Returns:
        Tensor[N, K]: weights, in the dtype of ``lower``.
    """
    height, width = heatmap_size
    map_size = lower.new_tensor([width, height])
    on_map = ~((lower >= map_size).any(dim=-1) | (upper < 0).any(dim=-1))
    return ((visibility > 0) & on_map).to(lower.dtype)


def gaussian_1d(centre, length, sigma):
    """The two factors of the targets: ``exp(-(i - centre)^2 / (2 sigma^2))`` at cells ``i < length``.

    Args:
        centre (Tensor[N, K, 2]): Gaussian centres (x, y) in heatmap cells.
        length (int): number of cells, L = max(H, W).
        sigma (float): standard deviation in cells.

    Returns:
        Tensor[N, K, 2, L]: the x and y factors, floored at ``exp(-EXP_CUTOFF)``.
    """
    cells = torch.arange(length, dtype=centre.dtype, device=centre.device)
    exponent = ((cells - centre[..., None])**2).mul_(0.5 / sigma**2).clamp_(max=EXP_CUTOFF)
    return exponent.neg_().exp_()


def window_1d(lower, upper, length):
    """Indicator of the integer window ``lower <= i < upper`` at cells ``i < length``.

    Args:
        lower, upper (Tensor[N, K, 2]): integer window bounds (x, y), as floats.
        length (int): number of cells, L = max(H, W).

    Returns:
        Tensor[N, K, 2, L]: exactly 1.0 inside the window and 0.0 outside.
    """
    cells = torch.arange(length, dtype=lower.dtype, device=lower.device)
    # For integers i, lower and upper, with m and r the window's middle and half-length:
    # |i - m| <= r - 1/2 inside the window and >= r + 1/2 outside, so this is exactly 1 or 0.
    middle = ((lower + upper - 1) * 0.5)[..., None]
    half = ((upper - lower) * 0.5)[..., None]
    return (half - (cells - middle).abs_()).mul_(2).clamp_(0, 1)


def separable_targets(factors, weights, heatmap_size):
    """Targets from their 1-D factors, zero where the weight is 0.

    Args:
        factors (Tensor[N, K, 2, L]): x and y factors (:func:`gaussian_1d`).
        weights (Tensor[N, K]): keypoint weights (:func:`keypoint_weights`).
        heatmap_size (tuple[int, int]): (H, W).

    Returns:
        Tensor[N, K, H, W]
    """
    height, width = heatmap_size
    g_x = factors[..., 0, :width]  # [N, K, W]
    g_y = factors[..., 1, :height] * weights[..., None]  # [N, K, H]
    return g_y[..., :, None] * g_x[..., None, :]


def check_blur_kernel(kernel):
    """``kernel`` as an int, or ValueError unless it is a positive odd integer (a cv2 blur size)."""
    if kernel < 1 or kernel % 2 != 1:
        raise ValueError(f'kernel must be a positive odd integer, got {kernel}')
    return int(kernel)


def gaussian_kernel_1d(kernel, dtype=torch.float32, device=None):
    """The 1-D kernel of ``cv2.GaussianBlur(img, (kernel, kernel), 0)``: Tensor[kernel].

    cv2 derives sigma from the size, ``sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8`` (2.0 for 11), and
    uses fixed kernels for sizes up to 9.
    """
    check_blur_kernel(kernel)
    if kernel in _CV2_SMALL_GAUSSIAN_KERNELS:
        return torch.tensor(_CV2_SMALL_GAUSSIAN_KERNELS[kernel], dtype=dtype, device=device)
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8
    x = torch.arange(kernel, dtype=torch.float64, device=device) - (kernel - 1) / 2
    values = torch.exp(-x**2 / (2 * sigma**2))
    return (values / values.sum()).to(dtype)
