"""The interface every keypoint codec implements (as mmpose 1.x's ``BaseKeypointCodec``).

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size.

A codec owns everything between image keypoints and what the keypoint head predicts in a RoI:

* ``expand_rois``: the RoI frame it wants (the heatmap's aspect ratio for the top-down codecs, the
  box's own shape for the one-hot baseline), from detected or sampled boxes;
* ``encode``: training targets and weights of keypoints in those RoIs;
* ``decode``: image keypoints and scores from predicted heatmaps;
* ``flip_back``: heatmaps predicted on a horizontally flipped image, back in the original frame.

Each codec states its pixel convention (how a continuous image coordinate maps to a heatmap cell and
back) in its module docstring. A new codec is a new subclass in its own file, registered in ``CODECS``.
"""
from abc import ABC, abstractmethod

import torch

from .utils import (argmax_plus_offset, expand_rois, flip_back_heatmaps, heatmap_argmax, heatmap_to_image,
                    no_keypoints)


def float_inputs(reference, *others):
    """Cast ``reference`` and ``others`` to the float dtype of ``reference`` (float32 unless it is
    float32 or float64), the dtype a codec computes and answers in."""
    float_types = (torch.float32, torch.float64)
    dtype = reference.dtype if reference.dtype in float_types else torch.float32
    return tuple(tensor.to(dtype) for tensor in (reference, ) + others)


class BaseKeypointCodec(ABC):
    """Keypoints <-> heatmaps in RoIs.

    Args:
        heatmap_size (tuple[int, int]): (H, W) of the maps the head predicts.
    """

    def __init__(self, heatmap_size):
        self.heatmap_size = tuple(int(size) for size in heatmap_size)
        if len(self.heatmap_size) != 2:
            raise ValueError(f'heatmap_size must be (H, W), got {heatmap_size}')

    @property
    def aspect_ratio(self):
        """W / H of the heatmap."""
        height, width = self.heatmap_size
        return width / height

    def expand_rois(self, rois, padding=1.25):
        """Boxes -> the RoIs the heatmaps cover: grown to the heatmap's aspect ratio, then padded.

        So that a heatmap cell covers a square of the image (mmpose's top-down convention). A codec
        whose RoIs keep another shape overrides this.

        Args:
            rois (Tensor[N, 4]): boxes ``(x1, y1, x2, y2)`` in image pixels.
            padding (float): factor applied to both sides after the aspect-ratio fix.

        Returns:
            Tensor[N, 4]: the RoIs ``(x1, y1, x2, y2)``.
        """
        return expand_rois(rois, aspect_ratio=self.aspect_ratio, padding=padding)

    @abstractmethod
    def encode(self, keypoints, rois):
        """Training targets of keypoints in their RoIs.

        Args:
            keypoints (Tensor[N, K, 3]): (x, y, v) in image pixels, v in {0, 1, 2}.
            rois (Tensor[N, 4]): RoIs from :meth:`expand_rois`, one per row of ``keypoints``.

        Returns:
            tuple: the targets (the codec says their shape) and weights Tensor[N, K].
        """

    @abstractmethod
    def decode(self, heatmaps, rois):
        """Image keypoints from the head's output.

        Args:
            heatmaps (Tensor[N, K, H, W]): predicted heatmaps (or logits).
            rois (Tensor[N, 4]): the RoIs they were predicted in.

        Returns:
            tuple[Tensor[N, K, 2], Tensor[N, K]]: keypoints (x, y) in image pixels and their scores.
        """

    @abstractmethod
    def flip_back(self, heatmaps, flip_pairs):
        """Heatmaps predicted on the horizontally flipped image, back in the original frame.

        Args:
            heatmaps (Tensor[N, K, H, W]): heatmaps of the flipped image (in the flipped RoIs).
            flip_pairs (Sequence[tuple[int, int]]): keypoint pairs swapped by a flip.

        Returns:
            Tensor[N, K, H, W]: a new tensor.
        """

    def _check_size(self, heatmaps):
        if tuple(heatmaps.shape[-2:]) != self.heatmap_size:
            raise ValueError(f'{type(self).__name__} expects (H, W) = {self.heatmap_size}, '
                             f'got heatmaps of shape {tuple(heatmaps.shape)}')

    def _config(self):
        """The constructor arguments, for ``repr``."""
        return dict(heatmap_size=self.heatmap_size)

    def __repr__(self):
        args = ', '.join(f'{key}={value!r}' for key, value in self._config().items())
        return f'{type(self).__name__}({args})'


class GaussianHeatmapCodec(BaseKeypointCodec):
    """What the Gaussian-heatmap codecs (MSRA, DARK, UDP) share: decoding is the argmax of each map
    plus a sub-cell offset that each codec computes its own way (:meth:`refine`), mapped back to the
    image in the codec's pixel convention; flipping back mirrors the maps, with or without the one-column
    shift that convention needs.

    Subclasses set ``align_corners`` (True: the RoI's edges fall on the first and last cell centres,
    UDP) and ``shift_flip`` (``utils.flip``), and implement ``encode`` and ``refine``.

    Args:
        heatmap_size (tuple[int, int]): (H, W).
        sigma (float): Gaussian standard deviation of the targets, in heatmap cells.
    """
    align_corners = False
    shift_flip = True

    def __init__(self, heatmap_size=(64, 48), sigma=2.0):
        super().__init__(heatmap_size)
        self.sigma = float(sigma)

    @abstractmethod
    def refine(self, flat, height, width, px, py):
        """The sub-cell offset of each map's argmax.

        Args:
            flat (Tensor[M, H * W]): the maps, one per row (``utils.heatmap_argmax``).
            height, width (int): H and W.
            px, py (Tensor[M]): the argmax column and row of each map.

        Returns:
            Tensor[M, 2]: the offset (x, y) in cells to add to the argmax.
        """

    @torch.no_grad()
    def decode(self, heatmaps, rois):
        """Keypoints in image pixels: each map's argmax plus the codec's offset (:meth:`refine`).

        Args:
            heatmaps (Tensor[N, K, H, W]): predicted heatmaps.
            rois (Tensor[N, 4]): the RoIs (x1, y1, x2, y2) they were predicted in.

        Returns:
            tuple[Tensor[N, K, 2], Tensor[N, K]]: keypoints (x, y) and scores (the heatmap maxima).
        """
        self._check_size(heatmaps)
        heatmaps, rois = float_inputs(heatmaps, rois)
        num_rois, num_kpts, height, width = heatmaps.shape
        if num_rois * num_kpts == 0:
            return no_keypoints(heatmaps)
        flat, scores, px, py = heatmap_argmax(heatmaps)
        offsets = self.refine(flat, height, width, px, py)
        coords = argmax_plus_offset(px, py, offsets, scores).reshape(num_rois, num_kpts, 2)
        keypoints = heatmap_to_image(coords, rois, self.heatmap_size, align_corners=self.align_corners)
        return keypoints, scores.reshape(num_rois, num_kpts)

    def flip_back(self, heatmaps, flip_pairs):
        """Mirror along W, swap the flip pairs, and shift one column right when the pixel convention
        maps a flip to ``x_hm -> W - x_hm`` (``shift_flip``; UDP's ``W - 1 - x_hm`` needs none).

        Args:
            heatmaps (Tensor[N, K, H, W]): heatmaps of the flipped image (in the flipped RoIs).
            flip_pairs (Sequence[tuple[int, int]]): keypoint pairs swapped by a flip.

        Returns:
            Tensor[N, K, H, W]: a new tensor.
        """
        self._check_size(heatmaps)
        return flip_back_heatmaps(heatmaps, flip_pairs, shift=self.shift_flip)

    def _config(self):
        return dict(heatmap_size=self.heatmap_size, sigma=self.sigma)
