"""RoIAlign layers with mmcv's interface: torchvision's kernel, and sparse matrix products.

``TVRoIAlign`` runs ``torchvision.ops.roi_align``. ``SparseRoIAlign`` computes the same result as
a sparse matrix product, with a faster CPU backward (below).

Shape legend: B images, C channels, (H, W) the feature map, N RoIs, (h, w) the output size,
P = N * h * w output bins, Q = B * H * W feature-map pixels.

RoIAlign (average mode) is linear in the features: every output bin is a weighted sum of feature
pixels, the weights being the bilinear weights of its sampling points divided by their count. So
``out = A @ F`` with ``F`` the features as Tensor[Q, C] (pixel-major, which is free for a
``channels_last`` map) and ``A`` a sparse Tensor[P, Q], and the gradient is ``A^T @ grad_out``.
Both products run in MKL's sparse kernels, where torchvision's CPU backward is a single-threaded loop
that scatters every sample point.

The weights follow mmcv's ``roi_align_forward_cpu`` / torchvision's ``roi_align`` exactly (the tests
compare outputs and gradients with both):

- ``aligned=True`` shifts RoI corners by -0.5 after scaling (pixel centres at integer + 0.5);
  ``aligned=False`` keeps them and makes RoIs at least 1 x 1.
- bin (i, j) of a RoI starting at (y0, x0) with bins of (bh, bw) has ``gh x gw`` sampling points at
  ``y0 + i * bh + (k + 0.5) * bh / gh`` (likewise x), ``gh = sampling_ratio`` or, when it is 0,
  ``ceil(roi_h / h)`` per RoI; the bin is the sum over points divided by ``max(gh * gw, 1)``.
- a point with y < -1 or y > H (or x < -1 or x > W) counts zero; otherwise coordinates below 0 are
  clamped to 0 and the point at or past the last row/column takes that row/column.

The weights are separable (a point's weight is its y weight times its x weight, and the count is
gh * gw), so they are built per axis and combined by broadcasting: no loop over RoIs or bins.
"""
import math
import warnings

import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable
from torch.nn.modules.utils import _pair
from torchvision.ops import roi_align


def _axis_weights(start, length, bins, size, sampling_ratio):
    """Sampling points of one axis and their bilinear weights.

    Args:
        start (Tensor[N]): RoI start in feature-map coordinates (after the aligned shift).
        length (Tensor[N]): RoI length along this axis.
        bins (int): output bins along this axis.
        size (int): feature-map size along this axis (H or W).
        sampling_ratio (int): points per bin; 0: ceil(length / bins) per RoI.

    Returns:
        tuple[Tensor[N, bins, 2 * G] long, Tensor[N, bins, 2 * G]]: the two neighbouring pixel
        indices of each of the G points of each bin and their weights (already divided by the
        points' count along this axis; zero for padding points and points outside the map).
    """
    bin_size = length / bins
    if sampling_ratio > 0:
        grid = torch.full_like(length, float(sampling_ratio))
    else:
        grid = torch.ceil(bin_size)
    num_points = max(int(grid.max().item()), 1)  # callers pass at least one RoI
    i = torch.arange(bins, dtype=length.dtype, device=length.device)
    k = torch.arange(num_points, dtype=length.dtype, device=length.device)
    grid_ = grid.clamp(min=1)[:, None, None]
    pos = (
        start[:, None, None] + i[None, :, None] * bin_size[:, None, None] +
        (k[None, None, :] + 0.5) * bin_size[:, None, None] / grid_)
    valid = (k[None, None, :] < grid[:, None, None]) & (pos >= -1.0) & (pos <= size)
    pos = pos.clamp(min=0)
    low = pos.floor().long()
    edge = low >= size - 1
    low = low.clamp(max=size - 1)
    high = torch.where(edge, low, low + 1)
    frac = torch.where(edge, torch.zeros_like(pos), pos - low.to(pos.dtype))
    weight = valid.to(pos.dtype) / grid_
    index = torch.stack([low, high], dim=-1).flatten(2)
    weights = torch.stack([(1 - frac) * weight, frac * weight], dim=-1).flatten(2)
    return index, weights


def roi_align_entries(rois, feat_shape, output_size, spatial_scale, sampling_ratio, aligned):
    """The non-zero entries of the RoIAlign matrix A (Tensor[P, Q]), row by row.

    Args:
        rois (Tensor[N, 5]): (batch index, x1, y1, x2, y2) in image coordinates.
        feat_shape (tuple[int]): (B, H, W) of the feature map.
        output_size (tuple[int]): (h, w).
        spatial_scale (float): image -> feature-map coordinates.
        sampling_ratio (int): points per bin and axis; 0: adaptive.
        aligned (bool): the -0.5 pixel shift.

    Returns:
        tuple: ``row_counts`` Tensor[P] (entries per output bin), ``cols`` Tensor[E] long (pixel
        index ``(b * H + y) * W + x``) and ``vals`` Tensor[E], rows in order (E entries in all;
        a pixel may appear more than once in a row, the product sums them).
    """
    _, height, width = feat_shape
    out_h, out_w = output_size
    offset = 0.5 if aligned else 0.0
    batch = rois[:, 0].long()
    x1 = rois[:, 1] * spatial_scale - offset
    y1 = rois[:, 2] * spatial_scale - offset
    roi_w = rois[:, 3] * spatial_scale - offset - x1
    roi_h = rois[:, 4] * spatial_scale - offset - y1
    if not aligned:
        roi_w = roi_w.clamp(min=1.0)
        roi_h = roi_h.clamp(min=1.0)
    iy, wy = _axis_weights(y1, roi_h, out_h, height, sampling_ratio)  # [N, h, 2Gy]
    ix, wx = _axis_weights(x1, roi_w, out_w, width, sampling_ratio)  # [N, w, 2Gx]
    # entries of bin (n, i, j): every (y, x) neighbour pair, Tensor[N, h, w, 2Gy, 2Gx]
    cols = ((batch[:, None, None, None, None] * height + iy[:, :, None, :, None]) * width +
            ix[:, None, :, None, :])
    vals = wy[:, :, None, :, None] * wx[:, None, :, None, :]
    num_bins = rois.size(0) * out_h * out_w
    cols = cols.reshape(num_bins, -1)
    vals = vals.reshape(num_bins, -1)
    keep = vals != 0
    return keep.sum(1), cols[keep], vals[keep]


def _csr(row_counts, cols, vals, shape):
    crow = row_counts.new_zeros(row_counts.numel() + 1)
    torch.cumsum(row_counts, 0, out=crow[1:])
    with warnings.catch_warnings():
        # "CSR support is in beta": the two products used here are covered by the tests against
        # mmcv's and torchvision's RoIAlign. The entries are valid by construction.
        warnings.simplefilter('ignore')
        return torch.sparse_csr_tensor(crow, cols, vals, size=shape, check_invariants=False)


class _SparseRoIAlignFunction(torch.autograd.Function):

    # custom_fwd / custom_bwd: the backward runs with the forward's autocast state (off), even when
    # backward() is called inside an autocast region
    @staticmethod
    @torch.amp.custom_fwd(device_type='cpu')
    def forward(ctx, feats, rois, output_size, spatial_scale, sampling_ratio, aligned):
        num_imgs, channels, height, width = feats.shape
        num_rois = rois.size(0)
        num_pix = num_imgs * height * width
        row_counts, cols, vals = roi_align_entries(rois, (num_imgs, height, width), output_size,
                                                   spatial_scale, sampling_ratio, aligned)
        num_bins = row_counts.numel()
        matrix = _csr(row_counts, cols, vals, (num_bins, num_pix))
        flat = feats.permute(0, 2, 3, 1).reshape(num_pix, channels)  # free if channels_last
        out = matrix @ flat  # [P, C]
        if ctx.needs_input_grad[0]:
            rows = torch.repeat_interleave(torch.arange(num_bins, device=cols.device), row_counts)
            ctx.save_for_backward(rows, cols, vals)
        ctx.shapes = (num_imgs, channels, height, width, num_bins)
        return out.view(num_rois, *output_size, channels).permute(0, 3, 1, 2)

    @staticmethod
    @once_differentiable
    @torch.amp.custom_bwd(device_type='cpu')
    def backward(ctx, grad_out):
        rows, cols, vals = ctx.saved_tensors
        num_imgs, channels, height, width, num_bins = ctx.shapes
        num_pix = num_imgs * height * width
        # A^T in CSR: the entries sorted by pixel (stable: each pixel's bins stay in order)
        order = torch.argsort(cols, stable=True)
        counts = torch.bincount(cols, minlength=num_pix)
        matrix_t = _csr(counts, rows[order], vals[order], (num_pix, num_bins))
        grad = matrix_t @ grad_out.permute(0, 2, 3, 1).reshape(num_bins, channels)
        grad = grad.view(num_imgs, height, width, channels).permute(0, 3, 1, 2)
        return grad, None, None, None, None, None


class TVRoIAlign(nn.Module):
    """``mmcv.ops.RoIAlign``'s interface (average pooling only) on ``torchvision.ops.roi_align``.

    Same arguments and the same output as mmcv's layer (the tests compare them); on CPU
    torchvision's kernel takes about half the time of mmcv 1.7's (docs/benchmarks.md).
    torchvision ships CUDA kernels too, so the layer works on either device.

    Args:
        output_size (int | tuple[int]): (h, w) of the output.
        spatial_scale (float): image coordinates -> feature-map coordinates (1 / stride).
        sampling_ratio (int): samples per bin along each axis; 0: adaptive, ceil(RoI size / bins)
            (mmcv's 0 and torchvision's -1 mean the same).
        pool_mode (str): only 'avg' (torchvision has no max mode).
        aligned (bool): continuous coordinates (pixel centres at +0.5), as mmdet's configs use.
    """

    def __init__(self, output_size, spatial_scale=1.0, sampling_ratio=0, pool_mode='avg', aligned=True):
        super().__init__()
        if pool_mode != 'avg':
            raise ValueError(f"{type(self).__name__} supports pool_mode='avg' only, got {pool_mode!r}")
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = bool(aligned)

    def forward(self, feats, rois):
        """Tensor[B, C, H, W] features, Tensor[N, 5] rois (batch index, x1, y1, x2, y2) ->
        Tensor[N, C, h, w]."""
        return roi_align(feats, rois.to(feats.dtype), self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)

    def __repr__(self):
        return (f'{self.__class__.__name__}(output_size={self.output_size}, '
                f'spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio}, '
                f'aligned={self.aligned})')


# Above this many candidate matrix entries (N * h * w * 2gh * 2gw, before zeros are dropped: about
# 20 bytes each while the matrix is built) SparseRoIAlign hands the call to torchvision's kernel,
# which needs no memory per sampling point. Only adaptive sampling of very large RoIs on a fine map
# gets there (100 RoIs of 1333 px at stride 4 pooled to 14x14: 45 M).
MAX_SPARSE_ENTRIES = 2**24
# dtypes of MKL's sparse-dense products; others are pooled in float32
_SPARSE_DTYPES = (torch.float32, torch.float64)


class SparseRoIAlign(TVRoIAlign):
    """``mmcv.ops.RoIAlign``'s interface and result (average pooling), as sparse matrix products.

    On CPU, forward and backward are two sparse-dense products (see the module docstring); on
    other devices, or when the matrix would have more than ``MAX_SPARSE_ENTRIES`` candidate entries,
    torchvision's kernel runs (the same result). Gradients reach the features, not the RoIs (as
    mmcv's and torchvision's).

    Precision: MKL's sparse products exist for float32 and float64 only, so on CPU bfloat16 / float16
    features are pooled in float32 (cast in, the output cast back to the features' dtype), and under
    ``torch.autocast`` the layer turns autocast off for its products (which autocast would otherwise
    cast to bfloat16) and returns float32.

    Args:
        output_size (int | tuple[int]): (h, w) of the output.
        spatial_scale (float): image coordinates -> feature-map coordinates (1 / stride).
        sampling_ratio (int): samples per bin along each axis; 0: adaptive, ceil(RoI size / bins).
        pool_mode (str): only 'avg'.
        aligned (bool): continuous coordinates (pixel centres at +0.5), as mmdet's configs use.
    """

    def __init__(self, output_size, spatial_scale=1.0, sampling_ratio=0, pool_mode='avg', aligned=True):
        super().__init__(output_size, spatial_scale, sampling_ratio, pool_mode, aligned)
        if self.sampling_ratio < 0:
            raise ValueError(f'sampling_ratio must be >= 0 (0: adaptive), got {sampling_ratio}')

    def forward(self, feats, rois):
        """Tensor[B, C, H, W] features, Tensor[N, 5] rois (batch index, x1, y1, x2, y2) ->
        Tensor[N, C, h, w] (pixel-major strides on CPU, like a ``channels_last`` tensor)."""
        if (rois.size(0) == 0 or feats.device.type != 'cpu'
                or self._num_candidate_entries(rois) > MAX_SPARSE_ENTRIES):
            return super().forward(feats, rois)  # torchvision's kernel
        autocast = torch.is_autocast_enabled('cpu')
        with torch.autocast('cpu', enabled=False):
            work = feats if feats.dtype in _SPARSE_DTYPES else feats.float()
            out = _SparseRoIAlignFunction.apply(work, rois.to(work.dtype), self.output_size,
                                                self.spatial_scale, self.sampling_ratio, self.aligned)
        # under autocast the next layer casts as it needs; otherwise the features' own dtype
        return out if autocast else out.to(feats.dtype)

    def _num_candidate_entries(self, rois):
        """N * h * w * (2 gh) * (2 gw) with gh, gw the largest points-per-bin counts of ``rois``."""
        out_h, out_w = self.output_size
        if self.sampling_ratio > 0:
            points_h = points_w = self.sampling_ratio
        else:
            size = (rois[:, 3:5] - rois[:, 1:3]).amax(0) * self.spatial_scale
            points_w = max(math.ceil(float(size[0]) / out_w), 1)
            points_h = max(math.ceil(float(size[1]) / out_h), 1)
        return rois.size(0) * out_h * out_w * 4 * points_h * points_w
