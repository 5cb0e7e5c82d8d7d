"""torchvision's Keypoint R-CNN keypoint codec (``keypoints_to_heatmap``, ``heatmaps_to_keypoints``),
for models converted from torchvision.

Shape legend: N RoIs, K keypoints, (H, W) the map size (56, 56 in torchvision), (h_i, w_i) RoI i's
size rounded up to whole pixels.

Pixel convention. torchvision trains on COCO keypoints as they are: pixel indices, where a keypoint of
index x lies at x, whereas mmhrkpt's continuous frame puts the centre of pixel x at x + 0.5
(CONVENTIONS.md). So this codec works in torchvision's frame, ``x_tv = x - pixel_offset``:

* encode: cell ``floor((x_tv - x1) * W / (x2 - x1))``, a keypoint exactly on x2 in the last cell,
  anything outside [0, W) not counted (torchvision's ``keypoints_to_heatmap``, with (H, W) for its
  square size);
* decode (torchvision's ``heatmaps_to_keypoints``): RoI i's logits are resized bicubically
  (``align_corners=False``) to (h_i, w_i) with ``w_i = ceil(max(x2 - x1, 1))``, the argmax (j, i) of
  each keypoint gives ``x_tv = x1 + (j + 0.5) * max(x2 - x1, 1) / w_i`` and the score is the resized
  logit there; the result is returned as ``x_tv + pixel_offset``.

The dataset subtracts the same 0.5 when it writes COCO results, so the numbers in a results file are
torchvision's own. RoIs are the detected boxes themselves (``expand_rois`` does not pad).

Batching. The bicubic resize goes to a different size for every RoI, which one
``F.interpolate`` call cannot do; RoIs that share (h_i, w_i) are resized in one call (the same numbers:
the kernel treats every map alike), so there is one call per distinct RoI size, not per RoI. A single
batched resampling of all RoIs (separable weight matrices padded to the largest RoI) is not the same
function in float arithmetic: PyTorch's kernel rounds its source positions and accumulates its taps in
its own order, so the resized logits differ in their last bits and near-tied maxima land on other
pixels. The argmax, the coordinates and the scores are computed for all RoIs at once.
"""
import torch
import torch.nn.functional as F

from .base import BaseKeypointCodec, float_inputs
from .builder import CODECS
from .utils import flip_back_heatmaps

# A COCO keypoint of pixel index i is at i + 0.5 in mmhrkpt's continuous frame (the dataset's
# PIXEL_CENTER_OFFSET; the codecs are pure torch and do not import the datasets).
COCO_INDEX_OFFSET = 0.5


@CODECS.register_module()
class TorchvisionOneHotHeatmap(BaseKeypointCodec):
    """One-hot cells and bicubic argmax decoding exactly as torchvision's Keypoint R-CNN.

    Args:
        heatmap_size (tuple[int, int]): (H, W) of the logits (torchvision: 56 x 56).
        pixel_offset (float): continuous frame minus torchvision's keypoint frame (0.5).
    """

    def __init__(self, heatmap_size=(56, 56), pixel_offset=COCO_INDEX_OFFSET):
        super().__init__(heatmap_size)
        self.pixel_offset = float(pixel_offset)

    def expand_rois(self, rois, padding=1.0):
        """The boxes themselves (a copy): torchvision pools and decodes the detected boxes as they are.

        Args:
            rois (Tensor[N, 4]): boxes (x1, y1, x2, y2).
            padding (float): must be 1.0 (``keypoint_roi_expand=dict(padding=1.0)``).
        """
        if padding != 1.0:
            raise ValueError('TorchvisionOneHotHeatmap keeps the detected boxes as torchvision does: '
                             f"keypoint_roi_expand=dict(padding=1.0) (got padding={padding})")
        return rois.clone()

    def encode(self, keypoints, rois):
        """Keypoints -> (targets Tensor[N, K] long flat cell index ``y * W + x``, weights Tensor[N, K]).

        Args:
            keypoints (Tensor[N, K, 3]): (x, y, v) in continuous image coordinates, v in {0, 1, 2}.
            rois (Tensor[N, 4]): the RoIs, one per row of ``keypoints``.
        """
        keypoints, rois = float_inputs(keypoints, rois)
        H, W = self.heatmap_size
        x = keypoints[..., 0] - self.pixel_offset
        y = keypoints[..., 1] - self.pixel_offset
        x1, y1, x2, y2 = (rois[:, i, None] for i in range(4))
        cx = ((x - x1) * (W / (x2 - x1))).floor().long()
        cy = ((y - y1) * (H / (y2 - y1))).floor().long()
        cx = torch.where(x == x2, torch.full_like(cx, W - 1), cx)
        cy = torch.where(y == y2, torch.full_like(cy, H - 1), cy)
        valid = (cx >= 0) & (cy >= 0) & (cx < W) & (cy < H) & (keypoints[..., 2] > 0)
        targets = (cy * W + cx) * valid
        return targets, valid.to(keypoints.dtype)

    def decode(self, heatmaps, rois):
        """Logits Tensor[N, K, H, W] -> (keypoints Tensor[N, K, 2] continuous image px, scores Tensor[N, K]).

        The score is the bicubically resized logit at the argmax (torchvision's ``keypoints_scores``).
        """
        self._check_size(heatmaps)
        heatmaps, rois = float_inputs(heatmaps, rois)
        num_rois, num_kpts = heatmaps.shape[:2]
        widths = (rois[:, 2] - rois[:, 0]).clamp(min=1)
        heights = (rois[:, 3] - rois[:, 1]).clamp(min=1)
        sizes = torch.stack([heights.ceil(), widths.ceil()], dim=1).long()  # [N, 2] (h_i, w_i)
        cells = torch.zeros(num_rois, num_kpts, 2, dtype=torch.long, device=heatmaps.device)
        scores = heatmaps.new_zeros(num_rois, num_kpts)
        corrections = heatmaps.new_zeros(num_rois, 2)  # (w_i, h_i) pixels per resized pixel
        if num_rois:
            groups, group_of_roi = torch.unique(sizes, dim=0, return_inverse=True)
            for group, (height, width) in enumerate(groups.tolist()):  # one resize per distinct size
                index = torch.where(group_of_roi == group)[0]
                resized = F.interpolate(
                    heatmaps[index], size=(height, width), mode='bicubic',
                    align_corners=False).flatten(2)  # [n, K, h * w]
                pos = resized.argmax(dim=2)
                scores[index] = resized.gather(2, pos[..., None])[..., 0]
                cells[index] = torch.stack(
                    [pos % width, torch.div(pos, width, rounding_mode='floor')], dim=-1)
                corrections[index] = torch.stack([widths[index] / width, heights[index] / height], 1)
        xy = (cells.to(heatmaps.dtype) + 0.5) * corrections[:, None] + rois[:, None, :2]
        return xy + self.pixel_offset, scores

    def flip_back(self, heatmaps, flip_pairs):
        """Maps of the flipped image -> maps of the original: mirror + swap pairs, no shift.

        In torchvision's frame a mirrored image maps x_tv to ``w_img - 1 - x_tv`` while the mirrored RoI
        maps x1 to ``w_img - x2``: the plain mirror is one image pixel off (torchvision has no flip
        test to follow).
        """
        self._check_size(heatmaps)
        return flip_back_heatmaps(heatmaps, flip_pairs, shift=False)

    def _config(self):
        return dict(heatmap_size=self.heatmap_size, pixel_offset=self.pixel_offset)
