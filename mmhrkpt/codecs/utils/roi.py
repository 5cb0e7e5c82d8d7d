"""RoI geometry shared by the codecs: RoI expansion and the image <-> heatmap mapping.

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size (always written (H, W) in mmhrkpt).

A RoI is an image box ``(x1, y1, x2, y2)`` in continuous image coordinates (CONVENTIONS.md). mmpose
describes the same box by ``center`` and ``scale = box size / PIXEL_STD``; :func:`rois_to_center_scale`
gives that description, which is what mmpose's functions are called with in the equivalence tests.

Image <-> heatmap mapping of a point inside RoI ``(x1, y1, x2, y2)`` of size ``(w, h)``; heatmap cell
(row i, column j) holds the value at heatmap point ``(x_hm, y_hm) = (j, i)``:

* ``align_corners=False`` (MSRA, DARK): ``x_hm = (x - x1) * W / w``, ``x = x1 + x_hm * w / W``. The
  RoI's left edge x1 falls on the first column's centre and its right edge x2 at x_hm = W, one cell
  beyond the last column.
* ``align_corners=True`` (UDP): ``x_hm = (x - x1) * (W - 1) / w``, ``x = x1 + x_hm * w / (W - 1)``. The
  RoI's edges fall on the centres of the first and last columns (Huang et al., "The Devil is in the
  Details", CVPR 2020), as ``align_corners=True`` in ``torch.nn.functional.interpolate``.

and the same for y with H and h.
"""
import torch

# mmpose expresses box sizes in units of this many pixels (its ``scale = size / 200``).
PIXEL_STD = 200.0

# Width and height of a RoI are clamped to at least this many pixels before any division.
MIN_ROI_SIZE = 1.0


def _centres_and_sizes(rois):
    """Centres (Tensor[N] x, Tensor[N] y) and sizes (w, h) clamped to MIN_ROI_SIZE, of Tensor[N, 4]."""
    cx = (rois[:, 0] + rois[:, 2]) * 0.5
    cy = (rois[:, 1] + rois[:, 3]) * 0.5
    w = (rois[:, 2] - rois[:, 0]).clamp(min=MIN_ROI_SIZE)
    h = (rois[:, 3] - rois[:, 1]).clamp(min=MIN_ROI_SIZE)
    return cx, cy, w, h


def expand_rois(rois, aspect_ratio=0.75, padding=1.25):
    """Grow RoIs to a fixed aspect ratio and pad them, keeping their centres.

    As mmpose's ``TopDownCocoDataset._xywh2cs``: if ``w > aspect_ratio * h`` then ``h = w /
    aspect_ratio``, else ``w = h * aspect_ratio``; then both sides are multiplied by ``padding``.
    Degenerate boxes (zero or negative size) are first clamped to ``MIN_ROI_SIZE`` pixels, so the result
    never has a zero side and never holds NaN.

    Args:
        rois (Tensor[N, 4]): boxes ``(x1, y1, x2, y2)`` in image pixels.
        aspect_ratio (float): target width / height, i.e. W / H of the heatmap (0.75 for 64 x 48).
        padding (float): factor applied to both sides after the aspect-ratio fix.

    Returns:
        Tensor[N, 4]: expanded boxes ``(x1, y1, x2, y2)``, same dtype and device as ``rois``.
    """
    cx, cy, w, h = _centres_and_sizes(rois)
    wider = w > aspect_ratio * h
    new_w = torch.where(wider, w, h * aspect_ratio) * (0.5 * padding)
    new_h = torch.where(wider, w / aspect_ratio, h) * (0.5 * padding)
    return torch.stack([cx - new_w, cy - new_h, cx + new_w, cy + new_h], dim=1)


def pad_rois(rois, padding=1.25):
    """Pad RoIs about their centres, keeping each box's own shape (sides clamped as in expand_rois).

    Args:
        rois (Tensor[N, 4]): boxes ``(x1, y1, x2, y2)`` in image pixels.
        padding (float): factor applied to both sides.

    Returns:
        Tensor[N, 4]: padded boxes ``(x1, y1, x2, y2)``, same dtype and device as ``rois``.
    """
    cx, cy, w, h = _centres_and_sizes(rois)
    new_w, new_h = w * (0.5 * padding), h * (0.5 * padding)
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


def _extents(rois, heatmap_size, align_corners):
    """RoI sizes in pixels (Tensor[N, 1, 2], clamped to MIN_ROI_SIZE) and in heatmap cells (Tensor[2])."""
    height, width = heatmap_size
    cells = rois.new_tensor([width, height])
    if align_corners:
        cells = cells - 1
    pixels = (rois[:, 2:] - rois[:, :2]).clamp(min=MIN_ROI_SIZE)
    return pixels[:, None, :], cells


def image_to_heatmap(points, rois, heatmap_size, align_corners=False):
    """Map image points into the heatmap frame of their RoI (see the module docstring).

    Args:
        points (Tensor[N, K, 2]): image coordinates (x, y).
        rois (Tensor[N, 4]): expanded RoIs ``(x1, y1, x2, y2)``.
        heatmap_size (tuple[int, int]): (H, W).
        align_corners (bool): RoI edges on the centres of the corner cells (``W - 1`` cells per RoI
            width, UDP) instead of ``W`` cells per RoI width (MSRA, DARK).

    Returns:
        Tensor[N, K, 2]: heatmap coordinates (x_hm, y_hm).
    """
    pixels, cells = _extents(rois, heatmap_size, align_corners)
    return (points - rois[:, None, :2]) * (cells / pixels)


def heatmap_to_image(points, rois, heatmap_size, align_corners=False):
    """Inverse of :func:`image_to_heatmap`.

    Args:
        points (Tensor[N, K, 2]): heatmap coordinates (x_hm, y_hm).
        rois (Tensor[N, 4]): expanded RoIs ``(x1, y1, x2, y2)``.
        heatmap_size (tuple[int, int]): (H, W).
        align_corners (bool): as in :func:`image_to_heatmap`.

    Returns:
        Tensor[N, K, 2]: image coordinates (x, y).
    """
    pixels, cells = _extents(rois, heatmap_size, align_corners)
    return points * (pixels / cells) + rois[:, None, :2]
