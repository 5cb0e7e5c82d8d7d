"""Gaussian heatmap targets and their decoding, batched over RoIs and keypoints.

Shapes: N rois, K keypoints, H x W heatmap. Heatmap sizes are (H, W) throughout (mmpose writes [W, H]).

Pixel convention (continuous image coordinates, CONVENTIONS.md). ``rois`` are image boxes
``(x1, y1, x2, y2)``, already expanded (:func:`~mmhrkpt.codecs.roi.expand_rois`), of size (w, h).
Heatmap cell (row i, column j) holds the value at heatmap point ``(x_hm, y_hm) = (j, i)``.

* msra, dark: encode ``x_hm = (x - x1) * W / w``, decode ``x = x1 + x_hm * w / W``;
* udp: encode ``x_hm = (x - x1) * (W - 1) / w``, decode ``x = x1 + x_hm * w / (W - 1)``;

and the same for y with H and h. This is mmpose 0.29's top-down convention with ``center`` the RoI
centre and ``scale = (w, h) / PIXEL_STD`` (``roi.rois_to_center_scale``), so every method here gives
the same numbers as mmpose's (tests/test_codecs compare them):

* ``msra``: targets as ``TopDownGenerateTarget(encoding='MSRA')`` (Gaussian centred on the cell
  ``int(x_hm + 0.5)``, cut at 3 sigma), decoding as ``keypoints_from_heatmaps(post_process='default')``
  (argmax, then a quarter-cell step towards the higher neighbour).
* ``dark``: targets as MSRA with ``unbiased_encoding=True`` (untruncated Gaussian at the exact
  sub-cell position), decoding as ``keypoints_from_heatmaps(post_process='unbiased')`` (DARK: blur, log,
  one Newton step with the 2x2 Hessian; Zhang et al., CVPR 2020).
* ``udp``: targets as ``TopDownGenerateTarget(encoding='UDP', target_type='GaussianHeatmap')``, decoding
  as ``keypoints_from_heatmaps(use_udp=True)`` (its ``post_dark_udp`` refinement).

Keypoints whose heatmap maximum is <= 0 decode to heatmap point (-1, -1) mapped to the image, as in
mmpose. Known differences from mmpose, all outside the well-conditioned set:

* dark: mmpose rescales each blurred map by ``max(heatmap) / max(blurred map)`` before flooring it at
  1e-10 and taking the log. The rescaling adds a constant to the log, which the finite differences
  cancel, so only the floor could tell; it is applied here to the unscaled blurred values (it matters
  only where the blurred map around the peak is non-positive or below ~1e-10).
* targets: each 1-D Gaussian factor is floored at exp(-40) ~ 4e-18 (``_EXP_CUTOFF``), far below the
  1e-4 the tests compare to; it keeps float32 denormals (slow on CPUs) out of the computation.
* udp: keypoints with a maximum <= 0 are not refined (mmpose refines them from a neighbourhood read
  at index -1, i.e. from the neighbouring map), and a singular Hessian leaves the argmax unchanged
  (mmpose raises ``LinAlgError``).

No Python loop runs over RoIs or keypoints. DARK and UDP never blur whole maps: the blur is linear, so
the blurred values their derivatives read (a 5 x 5 / 3 x 3 stencil around the argmax) are weighted sums
of a (kernel + 4)^2 / (kernel + 2)^2 window gathered around each argmax, one matrix product for all
keypoints.
"""
from functools import lru_cache

import torch

from .roi import heatmap_to_image, image_to_heatmap

METHODS = ('msra', 'dark', 'udp')

# Targets are cut this many sigmas from their centre (mmpose's "3-sigma rule"; dark draws the whole map
# but uses the same radius to decide whether a keypoint is on the map at all).
GAUSSIAN_RADIUS_IN_SIGMAS = 3
# 1-D Gaussian factors are floored at exp(-_EXP_CUTOFF) (~4e-18, where mmpose's values are smaller
# still or 0), so that neither they nor the targets (products of two factors, >= 1.8e-35) are float32
# denormals, which are ~100x slower to compute with on CPUs.
_EXP_CUTOFF = 40.0
# msra: the argmax moves this far towards its higher neighbour.
MSRA_SHIFT = 0.25
# dark: blurred heatmaps are floored here before the log.
DARK_LOG_FLOOR = 1e-10
# udp: blurred heatmaps are clipped to this range before the log ...
UDP_CLIP = (1e-3, 50.0)
# ... and this is added to the diagonal of the Hessian (numpy's float32 eps).
UDP_HESSIAN_EPS = float(torch.finfo(torch.float32).eps)
# cv2.getGaussianKernel(ksize, sigma<=0) uses these fixed kernels for ksize <= 9 (OpenCV 4.x).
_CV2_SMALL_GAUSSIAN_KERNELS = {
    1: (1.0, ),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
    9: (0.015625, 0.05078125, 0.1171875, 0.19921875, 0.234375, 0.19921875, 0.1171875, 0.05078125,
        0.015625),
}


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')


def _float_dtype(tensor):
    return tensor.dtype if tensor.dtype in (torch.float32, torch.float64) else torch.float32


@torch.no_grad()
def encode_heatmaps(keypoints, rois, heatmap_size, sigma=2.0, method='msra'):
    """Gaussian heatmap targets of keypoints in their RoIs.

    Shapes: N rois, K keypoints, H x W heatmap.

    A keypoint gets weight 1 when it is labelled (v > 0) and its Gaussian (radius 3 sigma) reaches the
    map, as mmpose decides it; its target is zero when its weight is 0.

    Args:
        keypoints (Tensor[N, K, 3]): (x, y, v) in image pixels, v in {0, 1, 2}.
        rois (Tensor[N, 4]): expanded RoIs (x1, y1, x2, y2), one per row of ``keypoints``.
        heatmap_size (tuple[int, int]): (H, W).
        sigma (float): Gaussian standard deviation in heatmap cells.
        method (str): 'msra', 'dark' or 'udp' (see the module docstring).

    Returns:
        tuple[Tensor[N, K, H, W], Tensor[N, K]]: targets and weights (float, on the input's device).
    """
    _check_method(method)
    height, width = heatmap_size
    dtype = _float_dtype(keypoints)
    keypoints = keypoints.to(dtype)
    rois = rois.to(dtype)

    mu = image_to_heatmap(keypoints[..., :2], rois, heatmap_size, udp=method == 'udp')  # [N, K, 2]
    radius = GAUSSIAN_RADIUS_IN_SIGMAS * sigma
    if method == 'dark':
        lower, upper = mu - radius, mu + radius + 1
        centre = mu
    else:
        # mmpose's int(): truncation towards zero, also for negative values.
        peak = torch.trunc(mu + 0.5)
        lower, upper = torch.trunc(peak - radius), torch.trunc(peak + radius + 1)
        # The Gaussian patch has 2 * radius + 1 cells and its centre at cell (2 * radius + 1) // 2.
        centre = lower + (2 * radius + 1) // 2
        if method == 'udp':
            centre = centre + (mu - peak)
    map_size = keypoints.new_tensor([width, height])
    on_map = ~((lower >= map_size).any(dim=-1) | (upper < 0).any(dim=-1))
    weights = ((keypoints[..., 2] > 0) & on_map).to(dtype)

    if method == 'dark':  # the whole map
        lower = upper = None
    g = _gaussian_1d(centre, max(height, width), sigma, lower, upper)  # [N, K, 2, max(H, W)]
    g_x = g[..., 0, :width]  # [N, K, W]
    g_y = g[..., 1, :height] * weights[..., None]  # [N, K, H]
    targets = g_y[..., :, None] * g_x[..., None, :]
    return targets, weights


def _gaussian_1d(centre, length, sigma, lower=None, upper=None):
    """The two factors of the targets: ``exp(-(i - centre)^2 / (2 sigma^2))`` at cells ``i < length``.

    Args:
        centre, lower, upper (Tensor[N, K, 2]): Gaussian centres and the window ``lower <= i < upper``
            (integers) outside which the Gaussian is 0 (no window if None), as (x, y) in heatmap cells.
        length (int): number of cells, max(H, W).
        sigma (float): standard deviation in cells.

    Returns:
        Tensor[N, K, 2, length]: the x and y factors, floored at ``exp(-_EXP_CUTOFF)`` inside the window.
    """
    cells = torch.arange(length, dtype=centre.dtype, device=centre.device)
    exponent = ((cells - centre[..., None])**2).mul_(0.5 / sigma**2).clamp_(max=_EXP_CUTOFF)
    values = exponent.neg_().exp_()
    if lower is not None:
        # For integers i, lower and upper, with m and r the window's middle and half-length:
        # |i - m| <= r - 1/2 inside the window and >= r + 1/2 outside, so this is exactly 1 or 0.
        middle = ((lower + upper - 1) * 0.5)[..., None]
        half = ((upper - lower) * 0.5)[..., None]
        inside = (half - (cells - middle).abs_()).mul_(2).clamp_(0, 1)
        values = values.mul_(inside)
    return values


def gaussian_kernel_1d(kernel, dtype=torch.float32, device=None):
    """The 1-D kernel of ``cv2.GaussianBlur(img, (kernel, kernel), 0)``: Tensor[kernel].

    cv2 derives sigma from the size, ``sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8`` (2.0 for 11), and
    uses fixed kernels for sizes up to 9.
    """
    if kernel < 1 or kernel % 2 != 1:
        raise ValueError(f'kernel must be a positive odd integer, got {kernel}')
    if kernel in _CV2_SMALL_GAUSSIAN_KERNELS:
        return torch.tensor(_CV2_SMALL_GAUSSIAN_KERNELS[kernel], dtype=dtype, device=device)
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8
    x = torch.arange(kernel, dtype=torch.float64, device=device) - (kernel - 1) / 2
    values = torch.exp(-x**2 / (2 * sigma**2))
    return (values / values.sum()).to(dtype)


def _reflect_101(index, size):
    """cv2.BORDER_REFLECT_101 (``dcb|abcd|cba``): map any integer index into [0, size)."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)


def _first_argmax(flat):
    """Maximum and index of its first occurrence in each row, as ``flat.max(dim=1)`` / numpy's argmax.

    torch's max-with-index reduction is scalar code on CPU; ``amax`` is vectorised. So: ``amax`` over
    blocks of B contiguous values, the first block holding the row maximum, then the index inside it.
    Same result as ``flat.max(dim=1)``, ties included (first occurrence), several times faster.

    Args:
        flat (Tensor[M, L]): one heatmap per row.

    Returns:
        tuple[Tensor[M], Tensor[M]]: maxima and their indices (long).
    """
    num, length = flat.shape
    block = next((b for b in range(128, 31, -1) if length % b == 0), length)
    blocks = flat.reshape(num, length // block, block)
    block_max = blocks.amax(dim=2)  # [M, L / B]
    scores = block_max.amax(dim=1)
    first_block = (block_max == scores[:, None]).to(torch.uint8).argmax(dim=1)
    rows = torch.arange(num, device=flat.device) * (length // block) + first_block
    inside = blocks.reshape(-1, block).index_select(0, rows).argmax(dim=1)
    return scores, first_block * block + inside


def _kernel_taps(g, size, offsets):
    """Tensor[P, size]: weight of each window cell for a 1-D blur centred ``offsets`` cells from the
    window centre (zero beyond the kernel)."""
    kernel = g.numel()
    tap = torch.arange(size, device=g.device)[None, :] - (size // 2 + offsets[:, None]) + kernel // 2
    inside = (tap >= 0) & (tap < kernel)
    return torch.where(inside, g[tap.clamp(0, kernel - 1)], g.new_zeros(()))


@lru_cache(maxsize=32)
def _stencil_kernel(kernel, size, stencil, dtype, device):
    """Weights that blur a gathered ``size x size`` window at stencil points: Tensor[size * size, P].

    Column p is the 2-D cv2 Gaussian (outer product of the 1-D kernel) centred on window cell
    ``(size // 2 + dy_p, size // 2 + dx_p)``, flattened row-major like the window.
    """
    g = gaussian_kernel_1d(kernel, dtype, device)
    stencil = torch.as_tensor(stencil, device=device)  # [P, 2] (dy, dx)
    taps_y, taps_x = _kernel_taps(g, size, stencil[:, 0]), _kernel_taps(g, size, stencil[:, 1])
    weights = taps_y[:, :, None] * taps_x[:, None, :]  # [P, size, size]
    return weights.reshape(len(stencil), size * size).t()


def _gather_windows(flat, width, rows, cols):
    """Windows of the heatmaps: ``flat[m, rows[m, i] * W + cols[m, j]]``: Tensor[M, S, S].

    Args:
        flat (Tensor[M, H * W]): heatmaps, one row per (roi, keypoint); M = N * K.
        width (int): W.
        rows, cols (Tensor[M, S]): heatmap rows / columns of each window, inside the map.
    """
    num, size = rows.shape
    index = (rows * width)[:, :, None] + cols[:, None, :]
    return flat.gather(1, index.reshape(num, size * size)).reshape(num, size, size)


def _blur_at(windows, kernel, stencil):
    """The Gaussian-blurred heatmap at stencil points, from windows centred on them.

    The blur is linear, so the blurred value at a point only needs the ``kernel x kernel`` cells around
    it: a window covering every stencil point's neighbourhood, weighted with the 2-D kernel of each
    point, gives them all (one matrix product for all keypoints).

    Args:
        windows (Tensor[M, S, S]): heatmap cells around each keypoint's argmax (window centre).
        kernel (int): Gaussian kernel size.
        stencil (tuple[tuple[int, int]]): P offsets (dy, dx) from the window centre.

    Returns:
        Tensor[M, P]: blurred values, one column per stencil offset.
    """
    num, size = windows.shape[:2]
    weights = _stencil_kernel(kernel, size, stencil, windows.dtype, windows.device)
    return windows.reshape(num, size * size) @ weights


def _refine_msra(flat, height, width, px, py):
    """Quarter-cell step towards the higher neighbour, where mmpose takes it."""
    interior = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)
    left = py * width + (px - 1).clamp(min=0)
    right = py * width + (px + 1).clamp(max=width - 1)
    up = (py - 1).clamp(min=0) * width + px
    down = (py + 1).clamp(max=height - 1) * width + px
    values = flat.gather(1, torch.stack([left, right, up, down], dim=1))
    step = torch.sign(values[:, 1::2] - values[:, 0::2]) * MSRA_SHIFT  # [M, 2] (x, y)
    return step * interior[:, None]


# (dy, dx) offsets read by DARK's derivatives (mmpose ``_taylor``).
_DARK_STENCIL = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (2, 0), (-2, 0), (1, 1),
                 (-1, 1), (1, -1), (-1, -1))
# The 3 x 3 neighbourhood read by UDP's derivatives (mmpose ``post_dark_udp``), row-major.
_UDP_STENCIL = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def _refine_dark(flat, height, width, px, py, kernel):
    """DARK offset (mmpose ``_gaussian_blur`` + ``_taylor``) from a zero-bordered blur of the map."""
    half = kernel // 2
    offsets = torch.arange(-2 - half, 3 + half, device=flat.device)
    rows, cols = py[:, None] + offsets, px[:, None] + offsets  # [M, kernel + 4]
    windows = _gather_windows(flat, width, rows.clamp(0, height - 1), cols.clamp(0, width - 1))
    # mmpose blurs a zero-bordered copy of the map: cells beyond the border read as 0.
    windows.mul_(((rows >= 0) & (rows < height)).to(flat.dtype)[:, :, None])
    windows.mul_(((cols >= 0) & (cols < width)).to(flat.dtype)[:, None, :])
    blurred = _blur_at(windows, kernel, _DARK_STENCIL)
    (centre, right, left, down, up, right2, left2, down2, up2, down_right, up_right, down_left,
     up_left) = torch.log(blurred.clamp(min=DARK_LOG_FLOOR)).unbind(dim=1)
    dx = 0.5 * (right - left)
    dy = 0.5 * (down - up)
    dxx = 0.25 * (right2 - 2 * centre + left2)
    dyy = 0.25 * (down2 - 2 * centre + up2)
    dxy = 0.25 * (down_right - up_right - down_left + up_left)
    det = dxx * dyy - dxy**2
    refine = (px > 1) & (px < width - 2) & (py > 1) & (py < height - 2) & (det != 0)
    return _newton_step(dx, dy, dxx, dxy, dyy, det, refine)


def _refine_udp(flat, height, width, px, py, kernel):
    """UDP's DARK offset (mmpose ``post_dark_udp``): reflect-101 blur, clip, log, edge-padded stencil."""
    half = kernel // 2
    offsets = torch.arange(-1 - half, 2 + half, device=flat.device)
    # cv2.GaussianBlur's default border: cells beyond the border mirror the map (reflect-101).
    rows = _reflect_101(py[:, None] + offsets, height)  # [M, kernel + 2]
    cols = _reflect_101(px[:, None] + offsets, width)
    blurred = _blur_at(_gather_windows(flat, width, rows, cols), kernel, _UDP_STENCIL)  # [M, 9]
    # The stencil reads the blurred map edge-padded by one cell: past the border it repeats the border.
    steps = torch.arange(-1, 2, device=flat.device)
    slot_y = (py[:, None] + steps).clamp(0, height - 1) - py[:, None] + 1  # [M, 3]
    slot_x = (px[:, None] + steps).clamp(0, width - 1) - px[:, None] + 1
    blurred = blurred.gather(1, (slot_y[:, :, None] * 3 + slot_x[:, None, :]).reshape(-1, 9))
    (up_left, up, up_right, left, centre, right, down_left, down,
     down_right) = torch.log(blurred.clamp(*UDP_CLIP)).unbind(dim=1)
    dx = 0.5 * (right - left)
    dy = 0.5 * (down - up)
    dxx = right - 2 * centre + left
    dyy = down - 2 * centre + up
    dxy = 0.5 * (down_right - right - down + 2 * centre - left - up + up_left)
    dxx, dyy = dxx + UDP_HESSIAN_EPS, dyy + UDP_HESSIAN_EPS
    det = dxx * dyy - dxy**2
    return _newton_step(dx, dy, dxx, dxy, dyy, det, det != 0)


def _newton_step(dx, dy, dxx, dxy, dyy, det, refine):
    """``-inv([[dxx, dxy], [dxy, dyy]]) @ [dx, dy]`` where ``refine``, else 0: Tensor[M, 2]."""
    det = torch.where(refine, det, torch.ones_like(det))
    step_x = -(dyy * dx - dxy * dy) / det
    step_y = -(dxx * dy - dxy * dx) / det
    return torch.stack([step_x, step_y], dim=1) * refine[:, None]


@torch.no_grad()
def decode_heatmaps(heatmaps, rois, method='msra', kernel=11):
    """Keypoints in image pixels from heatmaps predicted in RoIs.

    Shapes: N rois, K keypoints, H x W heatmap.

    Args:
        heatmaps (Tensor[N, K, H, W]): predicted heatmaps.
        rois (Tensor[N, 4]): the expanded RoIs (x1, y1, x2, y2) the heatmaps were predicted in.
        method (str): 'msra', 'dark' or 'udp' (see the module docstring).
        kernel (int): size of the Gaussian blur of dark and udp (11 matches sigma = 2 targets); msra
            ignores it.

    Returns:
        tuple[Tensor[N, K, 2], Tensor[N, K]]: keypoints (x, y) in image pixels and their scores (the
        heatmap maxima).
    """
    _check_method(method)
    num_rois, num_kpts, height, width = heatmaps.shape
    dtype = _float_dtype(heatmaps)
    heatmaps = heatmaps.to(dtype)
    rois = rois.to(dtype)
    if num_rois * num_kpts == 0:
        return heatmaps.new_zeros((num_rois, num_kpts, 2)), heatmaps.new_zeros((num_rois, num_kpts))

    flat = heatmaps.reshape(num_rois * num_kpts, height * width)
    scores, index = _first_argmax(flat)
    px, py = index % width, torch.div(index, width, rounding_mode='floor')
    coords = torch.stack([px, py], dim=1).to(dtype)
    if method == 'msra':
        coords = coords + _refine_msra(flat, height, width, px, py)
    elif method == 'dark':
        coords = coords + _refine_dark(flat, height, width, px, py, kernel)
    else:
        coords = coords + _refine_udp(flat, height, width, px, py, kernel)
    coords = torch.where((scores > 0)[:, None], coords, coords.new_tensor(-1.0))

    coords = coords.reshape(num_rois, num_kpts, 2)
    keypoints = heatmap_to_image(coords, rois, (height, width), udp=method == 'udp')
    return keypoints, scores.reshape(num_rois, num_kpts)
