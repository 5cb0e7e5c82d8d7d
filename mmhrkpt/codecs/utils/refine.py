"""Decoding heatmaps: argmax, then the sub-cell refinements of MSRA, DARK and UDP, batched.

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size; M = N * K maps, one per row of ``flat``
(Tensor[M, H * W]); ``px``, ``py`` (Tensor[M], long) the argmax column and row of each map.

Each refinement returns the offset (Tensor[M, 2], x and y in cells) its codec adds to the argmax cell:

* :func:`refine_msra`: a quarter-cell step towards the higher neighbour, as mmpose's
  ``keypoints_from_heatmaps(post_process='default')``;
* :func:`refine_dark`: DARK (Zhang et al., CVPR 2020): blur, log, one Newton step with the 2x2 Hessian,
  as ``post_process='unbiased'``;
* :func:`refine_udp`: UDP's DARK variant, as ``use_udp=True`` (mmpose's ``post_dark_udp``).

Keypoints whose heatmap maximum is <= 0 stay at heatmap point (-1, -1), as in mmpose
(:func:`argmax_plus_offset`). Known differences from mmpose, all outside the well-conditioned set:

* DARK: mmpose rescales each blurred map by ``max(heatmap) / max(blurred map)`` before flooring it at
  1e-10 and taking the log. The rescaling adds a constant to the log, which the finite differences
  cancel, so only the floor could tell; it is applied here to the unscaled blurred values (it matters
  only where the blurred map around the peak is non-positive or below ~1e-10).
* UDP: keypoints with a maximum <= 0 are not refined (mmpose refines them from a neighbourhood read
  at index -1, i.e. from the neighbouring map), and a singular Hessian leaves the argmax unchanged
  (mmpose raises ``LinAlgError``).

No Python loop runs over RoIs or keypoints. DARK and UDP never blur whole maps: the blur is linear, so
the blurred values their derivatives read (a 5 x 5 / 3 x 3 stencil around the argmax) are weighted sums
of a (kernel + 4)^2 / (kernel + 2)^2 window gathered around each argmax, one matrix product for all
keypoints.
"""
from functools import lru_cache

import torch

from .gaussian import gaussian_kernel_1d

# MSRA: the argmax moves this far towards its higher neighbour.
MSRA_SHIFT = 0.25
# DARK: blurred heatmaps are floored here before the log.
DARK_LOG_FLOOR = 1e-10
# UDP: blurred heatmaps are clipped to this range before the log ...
UDP_CLIP = (1e-3, 50.0)
# ... and this is added to the diagonal of the Hessian (numpy's float32 eps).
UDP_HESSIAN_EPS = float(torch.finfo(torch.float32).eps)


def no_keypoints(heatmaps):
    """What decoding returns for heatmaps of no map at all (N = 0 or K = 0).

    Args:
        heatmaps (Tensor[N, K, H, W]): with N * K == 0.

    Returns:
        tuple[Tensor[N, K, 2], Tensor[N, K]]: empty keypoints and scores.
    """
    num_rois, num_kpts = heatmaps.shape[:2]
    return heatmaps.new_zeros((num_rois, num_kpts, 2)), heatmaps.new_zeros((num_rois, num_kpts))


def heatmap_argmax(heatmaps):
    """The maximum of every map and where it is (first occurrence, as numpy's argmax).

    Args:
        heatmaps (Tensor[N, K, H, W]): with N * K > 0.

    Returns:
        tuple: ``flat`` Tensor[M, H * W] (the maps, one per row), ``scores`` Tensor[M] (the maxima),
        ``px`` and ``py`` Tensor[M] (long: their column and row).
    """
    num_rois, num_kpts, height, width = heatmaps.shape
    flat = heatmaps.reshape(num_rois * num_kpts, height * width)
    scores, index = _first_argmax(flat)
    px, py = index % width, torch.div(index, width, rounding_mode='floor')
    return flat, scores, px, py


def argmax_plus_offset(px, py, offsets, scores):
    """The refined heatmap point of each map: argmax cell + offset, (-1, -1) where the max is <= 0.

    Args:
        px, py (Tensor[M]): argmax column and row.
        offsets (Tensor[M, 2]): the refinement (x, y) in cells.
        scores (Tensor[M]): the maxima.

    Returns:
        Tensor[M, 2]: (x_hm, y_hm), in the dtype of ``offsets``.
    """
    coords = torch.stack([px, py], dim=1).to(offsets.dtype)
    coords = coords + offsets
    return torch.where((scores > 0)[:, None], coords, coords.new_tensor(-1.0))


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


def _reflect_101(index, size):
    """cv2.BORDER_REFLECT_101 (``dcb|abcd|cba``): map any integer index into [0, size)."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)


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


def refine_msra(flat, height, width, px, py):
    """Quarter-cell step towards the higher neighbour where mmpose takes it (``1 < px < W - 1`` and
    ``1 < py < H - 1``).

    Args:
        flat (Tensor[M, H * W]): the maps, one per row (:func:`heatmap_argmax`).
        height, width (int): H and W.
        px, py (Tensor[M]): the argmax column and row of each map.

    Returns:
        Tensor[M, 2]: the offset (x, y) in cells to add to the argmax.
    """
    interior = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)
    left = py * width + (px - 1).clamp(min=0)
    right = py * width + (px + 1).clamp(max=width - 1)
    up = (py - 1).clamp(min=0) * width + px
    down = (py + 1).clamp(max=height - 1) * width + px
    values = flat.gather(1, torch.stack([left, right, up, down], dim=1))
    step = torch.sign(values[:, 1::2] - values[:, 0::2]) * MSRA_SHIFT  # [M, 2] (x, y)
    return step * interior[:, None]


# (dy, dx) offsets read by DARK's derivatives (mmpose ``_taylor``).
_DARK_STENCIL = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (2, 0), (-2, 0), (1, 1), (-1, 1),
                 (1, -1), (-1, -1))
# The 3 x 3 neighbourhood read by UDP's derivatives (mmpose ``post_dark_udp``), row-major.
_UDP_STENCIL = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def refine_dark(flat, height, width, px, py, kernel):
    """DARK offset (mmpose ``_gaussian_blur`` + ``_taylor``) from a zero-bordered blur of the map.

    Args:
        flat (Tensor[M, H * W]): the maps, one per row (:func:`heatmap_argmax`).
        height, width (int): H and W.
        px, py (Tensor[M]): the argmax column and row of each map.
        kernel (int): size of the Gaussian blur (odd; 11 matches sigma = 2 targets).

    Returns:
        Tensor[M, 2]: the offset (x, y) in cells to add to the argmax.
    """
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


def refine_udp(flat, height, width, px, py, kernel):
    """UDP's DARK offset (mmpose ``post_dark_udp``): reflect-101 blur, clip, log, edge-padded stencil.

    Args:
        flat (Tensor[M, H * W]): the maps, one per row (:func:`heatmap_argmax`).
        height, width (int): H and W.
        px, py (Tensor[M]): the argmax column and row of each map.
        kernel (int): size of the Gaussian blur (odd; 11 matches sigma = 2 targets).

    Returns:
        Tensor[M, 2]: the offset (x, y) in cells to add to the argmax.
    """
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
