"""mmpose 0.29 as the oracle of the codec tests, plus the random inputs they share.

The encode / decode oracles and the frame they are called in live in
``mmhrkpt.testing.mmpose_reference`` (shared with ``tools/analysis_tools/benchmark.py codec``).
"""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mmhrkpt.codecs import DarkHeatmap, MSRAHeatmap, UDPHeatmap
from mmhrkpt.testing.mmpose_reference import mmpose_decoder, mmpose_encoder
from mmhrkpt.utils import import_mmpose

# The codec of each mmpose method name the oracle takes.
CODEC_OF_METHOD = dict(msra=MSRAHeatmap, dark=DarkHeatmap, udp=UDPHeatmap)


def mmpose_encode(keypoints, rois, heatmap_size, sigma, method):
    """TopDownGenerateTarget looped over RoIs: (targets [N, K, H, W], weights [N, K]) as numpy."""
    return mmpose_encoder(keypoints, rois, heatmap_size, sigma, method)()


def mmpose_decode(heatmaps, rois, method, kernel=11):
    """keypoints_from_heatmaps: (keypoints [N, K, 2], scores [N, K]) as numpy."""
    return mmpose_decoder(heatmaps, rois, method, kernel)()


def mmpose_flip_back(heatmaps, flip_pairs, shift):
    """mmpose's flip_back and, if ``shift``, TopdownHeatmapSimpleHead's shift_heatmap step."""
    post_processing = import_mmpose('core.post_processing')
    flipped = post_processing.flip_back(heatmaps.numpy(), flip_pairs, target_type='GaussianHeatmap')
    flipped = np.ascontiguousarray(flipped)
    if shift:
        flipped[:, :, :, 1:] = flipped[:, :, :, :-1]
    return flipped


def mmpose_xywh2cs(x, y, w, h, aspect_ratio, padding):
    """mmpose's box -> (center, scale), as its TopDownGetBboxCenterScale (and ``_xywh2cs``) use it."""
    bbox = import_mmpose('core.bbox')
    return bbox.bbox_xywh2cs(np.array([x, y, w, h]), aspect_ratio=aspect_ratio, padding=padding)


def make_codec(method, heatmap_size=(64, 48), sigma=2.0, **kwargs):
    """The mmhrkpt codec of an mmpose method name ('msra', 'dark' or 'udp'), default kernel 11."""
    return CODEC_OF_METHOD[method](heatmap_size, sigma, **kwargs)


@pytest.fixture
def codec_of():
    """``codec_of(method, heatmap_size=(64, 48), sigma=2.0, **kwargs)``: see :func:`make_codec`."""
    return make_codec


@pytest.fixture
def oracle():
    return SimpleNamespace(
        encode=mmpose_encode, decode=mmpose_decode, flip_back=mmpose_flip_back, xywh2cs=mmpose_xywh2cs)


def random_rois(generator, num, min_size=20.0, max_size=400.0):
    """Tensor[num, 4] of boxes of varied sizes and aspects, float32."""
    x1y1 = torch.rand(num, 2, generator=generator) * 500
    size = min_size + torch.rand(num, 2, generator=generator) * (max_size - min_size)
    return torch.cat([x1y1, x1y1 + size], dim=1)


def random_keypoints(generator, rois, num_kpts, outside=0.15):
    """Tensor[N, K, 3]: points in and up to ``outside`` RoI sizes beyond their RoI, v in {0, 1, 2}."""
    num = rois.shape[0]
    frac = torch.rand(num, num_kpts, 2, generator=generator) * (1 + 2 * outside) - outside
    xy = rois[:, None, :2] + frac * (rois[:, None, 2:] - rois[:, None, :2])
    v = torch.randint(0, 3, (num, num_kpts, 1), generator=generator).float()
    return torch.cat([xy, v], dim=2)


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(0)


@pytest.fixture
def make_rois():
    return random_rois


@pytest.fixture
def make_keypoints():
    return random_keypoints
