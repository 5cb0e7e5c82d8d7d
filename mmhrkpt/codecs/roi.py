"""RoI geometry shared by the heatmap codecs.

Shapes: N rois, K keypoints, H x W heatmap (always written (H, W) in mmhrkpt).

A RoI is an image box ``(x1, y1, x2, y2)`` in continuous image coordinates (CONVENTIONS.md). mmpose
describes the same box by ``center`` and ``scale = box size / PIXEL_STD``; :func:`rois_to_center_scale`
gives that description, which is what mmpose's functions are called with in the equivalence tests.

Image <-> heatmap mapping of a point inside RoI ``(x1, y1, x2, y2)`` of size ``(w, h)``:

* msra / dark (``udp=False``): ``x_hm = (x - x1) * W / w``,       ``x = x1 + x_hm * w / W``
* udp         (``udp=True``):  ``x_hm = (x - x1) * (W - 1) / w``, ``x = x1 + x_hm * w / (W - 1)``

and the same for y with H and h. Heatmap cell (row i, column j) holds the value at ``(x_hm, y_hm) =
(j, i)``. With msra the RoI's right edge x2 falls at x_hm = W, one cell beyond the last column; with udp
it falls on the last column W - 1 (Huang et al., "The Devil is in the Details", CVPR 2020).
"""
import torch

# mmpose expresses box sizes in units of this many pixels (its ``scale = size / 200``).
PIXEL_STD = 200.0

# Width and height of a RoI are clamped to at least this many pixels before any division.
MIN_ROI_SIZE = 1.0


def expand_rois(rois, aspect_ratio=0.75, padding=1.25):
    """Grow RoIs to a fixed aspect ratio and pad them, keeping their centres.

    As mmpose's ``TopDownCocoDataset._xywh2cs``: if ``w > aspect_ratio * h`` then ``h = w /
    aspect_ratio``, else ``w = h * aspect_ratio``; then both sides are multiplied by ``padding``.
    Degenerate boxes (zero or negative size) are first clamped to ``MIN_ROI_SIZE`` pixels, so the result
    never has a zero side and never holds NaN.

    Args:
        rois (Tensor[N, 4]): boxes ``(x1, y1, x2, y2)`` in image pixels.
        aspect_ratio (float | None): target width / height, i.e. W / H of the heatmap (0.75 for
            64 x 48); None keeps each box's own shape (the one-hot baseline's RoIs).
        padding (float): factor applied to both sides after the aspect-ratio fix.

    Returns:
        Tensor[N, 4]: expanded boxes ``(x1, y1, x2, y2)``, same dtype and device as ``rois``.
    """
    cx = (rois[:, 0] + rois[:, 2]) * 0.5
    cy = (rois[:, 1] + rois[:, 3]) * 0.5
    w = (rois[:, 2] - rois[:, 0]).clamp(min=MIN_ROI_SIZE)
    h = (rois[:, 3] - rois[:, 1]).clamp(min=MIN_ROI_SIZE)
    if aspect_ratio is None:
        new_w, new_h = w * (0.5 * padding), h * (0.5 * padding)
        return torch.stack([cx - new_w, cy - new_h, cx + new_w, cy + new_h], dim=1)
    wider = w > aspect_ratio * h
    new_w = torch.where(wider, w, h * aspect_ratio) * (0.5 * padding)
    new_h = torch.where(wider, w / aspect_ratio, h) * (0.5 * padding)
    return torch.stack([cx - new_w, cy - new_h, cx + new_w, cy + new_h], dim=1)


def rois_to_center_scale(rois):
    """mmpose's description of RoIs: centre and ``scale = size / PIXEL_STD``.

    Args:
        rois (Tensor[N, 4]): boxes ``(x1, y1, x2, y2)``.

    Returns:
        tuple[Tensor[N, 2], Tensor[N, 2]]: ``center`` (x, y) and ``scale`` (w, h) / PIXEL_STD.
    """
    center = (rois[:, :2] + rois[:, 2:]) * 0.5
    scale = (rois[:, 2:] - rois[:, :2]) / PIXEL_STD
    return center, scale


def _extents(rois, heatmap_size, udp):
    """RoI sizes in pixels (Tensor[N, 1, 2], clamped to MIN_ROI_SIZE) and in heatmap cells (Tensor[2])."""
    height, width = heatmap_size
    cells = rois.new_tensor([width, height])
    if udp:
        cells = cells - 1
    pixels = (rois[:, 2:] - rois[:, :2]).clamp(min=MIN_ROI_SIZE)
    return pixels[:, None, :], cells


def image_to_heatmap(points, rois, heatmap_size, udp=False):
    """Map image points into the heatmap frame of their RoI (see the module docstring).

    Args:
        points (Tensor[N, K, 2]): image coordinates (x, y).
        rois (Tensor[N, 4]): expanded RoIs ``(x1, y1, x2, y2)``.
        heatmap_size (tuple[int, int]): (H, W).
        udp (bool): use the udp mapping (``W - 1`` cells per RoI width) instead of msra's (``W``).

    Returns:
        Tensor[N, K, 2]: heatmap coordinates (x_hm, y_hm).
    """
    pixels, cells = _extents(rois, heatmap_size, udp)
    return (points - rois[:, None, :2]) * (cells / pixels)


def heatmap_to_image(points, rois, heatmap_size, udp=False):
    """Inverse of :func:`image_to_heatmap`.

    Args:
        points (Tensor[N, K, 2]): heatmap coordinates (x_hm, y_hm).
        rois (Tensor[N, 4]): expanded RoIs ``(x1, y1, x2, y2)``.
        heatmap_size (tuple[int, int]): (H, W).
        udp (bool): use the udp mapping.

    Returns:
        Tensor[N, K, 2]: image coordinates (x, y).
    """
    pixels, cells = _extents(rois, heatmap_size, udp)
    return points * (pixels / cells) + rois[:, None, :2]
