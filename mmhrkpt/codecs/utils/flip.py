"""Bring heatmaps predicted on a horizontally flipped image back to the original image.

Shapes: N rois, K keypoints, H x W heatmap.

Flipping an image of width w_img maps x -> w_img - x for keypoints and boxes alike (CONVENTIONS.md), so
a RoI (x1, x2) becomes (w_img - x2, w_img - x1) and a keypoint's heatmap coordinate (roi.py) becomes

* ``align_corners=False`` (MSRA, DARK): ``x_hm -> W - x_hm``;
* ``align_corners=True`` (UDP):         ``x_hm -> W - 1 - x_hm``.

Reversing the columns of the array maps column j to ``W - 1 - j``: exactly UDP's flip, but one column
short of MSRA's, which is why MSRA/DARK heatmaps are then shifted right by one column (mmpose's
``shift_heatmap``: column 0 is kept, columns 1.. take the old columns 0..W-2). The channels of each flip
pair (left, right) are swapped as well, since the flipped image shows the left keypoint where the right
one was. Same result as mmpose's ``flip_back`` followed by its ``shift_heatmap`` step.
"""
import torch


def flip_indices(num_kpts, width, flip_pairs, shift=False):
    """The channel and column orders that :func:`flip_back_heatmaps` gathers by, as Python lists.

    Built from Python ints, so that an exported ONNX graph holds them as constants: onnxruntime's
    full graph optimisation (``ORT_ENABLE_ALL``) turns a reversed ``Range`` over traced heatmap sizes
    into an empty index (tests/test_deployment).

    Args:
        num_kpts (int): K.
        width (int): W.
        flip_pairs (Sequence[tuple[int, int]]): keypoint index pairs (left, right).
        shift (bool): see :func:`flip_back_heatmaps`.

    Returns:
        tuple[list[int], list[int]]: K channel indices and W column indices.
    """
    channels = list(range(num_kpts))
    for left, right in flip_pairs:
        channels[left], channels[right] = right, left
    columns = list(range(width - 1, -1, -1))
    if shift and width > 1:
        columns = columns[:1] + columns[:-1]
    return channels, columns


def flip_back_heatmaps(heatmaps, flip_pairs, shift=False):
    """Mirror heatmaps along W, swap the channels of flip pairs and optionally shift them one column.

    Args:
        heatmaps (Tensor[N, K, H, W]): heatmaps predicted on the flipped image (in flipped RoIs).
        flip_pairs (Sequence[tuple[int, int]]): keypoint index pairs (left, right) swapped by a flip.
        shift (bool): move the result right by one column (MSRA and DARK; not UDP).

    Returns:
        Tensor[N, K, H, W]: heatmaps in the frame of the original image; a new tensor.
    """
    num_kpts, width = int(heatmaps.shape[1]), int(heatmaps.shape[3])
    pairs = [(int(left), int(right)) for left, right in flip_pairs]
    for pair in pairs:
        if not all(-num_kpts <= i < num_kpts for i in pair):
            raise IndexError(f'flip pair {pair} is out of range for K = {num_kpts} keypoints')
    channels, columns = flip_indices(num_kpts, width, pairs, shift)
    device = heatmaps.device
    return (heatmaps.index_select(1, torch.as_tensor(channels, dtype=torch.long, device=device)).index_select(
        3, torch.as_tensor(columns, dtype=torch.long, device=device)))
