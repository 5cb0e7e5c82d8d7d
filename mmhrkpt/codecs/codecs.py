"""Heatmap codecs: one registered class per encoding/decoding method.

Shapes: N rois, K keypoints, H x W heatmap.

A codec bundles the heatmap geometry with one method of ``heatmap.py`` so that the keypoint head only
says ``codec.encode`` / ``codec.decode`` / ``codec.flip_back``; a new decoder is a new class here.
"""
from .builder import CODECS
from .flip import flip_back_heatmaps
from .heatmap import decode_heatmaps, encode_heatmaps


class BaseHeatmapCodec:
    """Gaussian heatmap codec (subclasses set ``method`` and ``shift_flip``).

    Args:
        heatmap_size (tuple[int, int]): (H, W).
        sigma (float): Gaussian standard deviation of the targets, in heatmap cells.
    """
    method = None
    # Whether flip_back shifts the mirrored heatmaps one column right (see flip.py).
    shift_flip = True

    def __init__(self, heatmap_size=(64, 48), sigma=2.0):
        self.heatmap_size = tuple(int(size) for size in heatmap_size)
        if len(self.heatmap_size) != 2:
            raise ValueError(f'heatmap_size must be (H, W), got {heatmap_size}')
        self.sigma = float(sigma)

    @property
    def aspect_ratio(self):
        """W / H of the heatmap: the aspect RoIs are expanded to."""
        height, width = self.heatmap_size
        return width / height

    def encode(self, keypoints, rois):
        """Targets of keypoints in their RoIs.

        Args:
            keypoints (Tensor[N, K, 3]): (x, y, v) in image pixels.
            rois (Tensor[N, 4]): expanded RoIs (x1, y1, x2, y2).

        Returns:
            tuple[Tensor[N, K, H, W], Tensor[N, K]]: targets and weights.
        """
        return encode_heatmaps(keypoints, rois, self.heatmap_size, self.sigma, self.method)

    def decode(self, heatmaps, rois):
        """Keypoints in image pixels.

        Args:
            heatmaps (Tensor[N, K, H, W]): predicted heatmaps.
            rois (Tensor[N, 4]): the expanded RoIs they were predicted in.

        Returns:
            tuple[Tensor[N, K, 2], Tensor[N, K]]: keypoints (x, y) and scores.
        """
        self._check_size(heatmaps)
        return decode_heatmaps(heatmaps, rois, self.method, **self._decode_kwargs())

    def flip_back(self, heatmaps, flip_pairs):
        """Heatmaps predicted on the flipped image, back in the original frame.

        Args:
            heatmaps (Tensor[N, K, H, W]): heatmaps of the flipped image.
            flip_pairs (Sequence[tuple[int, int]]): keypoint pairs swapped by a flip.

        Returns:
            Tensor[N, K, H, W]
        """
        self._check_size(heatmaps)
        return flip_back_heatmaps(heatmaps, flip_pairs, shift=self.shift_flip)

    def _decode_kwargs(self):
        return {}

    def _check_size(self, heatmaps):
        if tuple(heatmaps.shape[-2:]) != self.heatmap_size:
            raise ValueError(f'{type(self).__name__} expects (H, W) = {self.heatmap_size}, '
                             f'got heatmaps of shape {tuple(heatmaps.shape)}')

    def __repr__(self):
        args = ', '.join(f'{key}={value!r}' for key, value in self._config().items())
        return f'{type(self).__name__}({args})'

    def _config(self):
        return dict(heatmap_size=self.heatmap_size, sigma=self.sigma, **self._decode_kwargs())


@CODECS.register_module()
class MSRAHeatmap(BaseHeatmapCodec):
    """MSRA heatmaps (Xiao et al., Simple Baselines, ECCV 2018): Gaussian on the nearest cell,
    argmax + quarter-cell shift decoding."""
    method = 'msra'
    shift_flip = True


class _BlurRefinedCodec(BaseHeatmapCodec):
    """A codec whose decoding blurs the heatmap with a ``kernel`` x ``kernel`` Gaussian.

    Args:
        heatmap_size (tuple[int, int]): (H, W).
        sigma (float): Gaussian standard deviation of the targets, in heatmap cells.
        kernel (int): blur size for decoding; 11 matches sigma = 2 (cv2's sigma for 11 is 2.0).
    """

    def __init__(self, heatmap_size=(64, 48), sigma=2.0, kernel=11):
        super().__init__(heatmap_size, sigma)
        if kernel < 1 or kernel % 2 != 1:
            raise ValueError(f'kernel must be a positive odd integer, got {kernel}')
        self.kernel = int(kernel)

    def _decode_kwargs(self):
        return dict(kernel=self.kernel)


@CODECS.register_module()
class DarkHeatmap(_BlurRefinedCodec):
    """DARK (Zhang et al., CVPR 2020): sub-cell Gaussian targets, Taylor-refined decoding."""
    method = 'dark'
    shift_flip = True


@CODECS.register_module()
class UDPHeatmap(_BlurRefinedCodec):
    """UDP (Huang et al., CVPR 2020): RoI edges on the first/last cell centres, DARK-UDP decoding;
    its flip needs no shift."""
    method = 'udp'
    shift_flip = False
