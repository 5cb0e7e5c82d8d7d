"""mmpose 0.29 as the oracle of the codec tests, plus the random inputs they share.

mmpose works in a "input image" frame of ``image_size`` pixels that its heatmap divides evenly (msra)
or corner-to-corner (udp). RoI-frame keypoints are put into that frame so that mmpose's heatmap
coordinate equals mmhrkpt's contract (mmhrkpt/codecs/heatmap.py):

* msra / dark: stride ``image_size / heatmap_size`` and ``x_img = (x - x1) * image_W / w``
  -> ``x_hm = x_img * W / image_W = (x - x1) * W / w``;
* udp: stride ``(image_size - 1) / (heatmap_size - 1)`` and ``x_img = (x - x1) * (image_W - 1) / w``
  -> ``x_hm = (x - x1) * (W - 1) / w``.
"""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mmhrkpt.codecs.roi import rois_to_center_scale
from mmhrkpt.utils import import_mmpose

# mmpose's input image is this many times the heatmap (any value works; 4 is mmpose's usual).
IMAGE_PER_HEATMAP = 4


def mmpose_encode(keypoints, rois, heatmap_size, sigma, method):
    """TopDownGenerateTarget looped over RoIs: (targets [N, K, H, W], weights [N, K]) as numpy."""
    transforms = import_mmpose('datasets.pipelines.top_down_transform')
    height, width = heatmap_size
    num_kpts = keypoints.shape[1]
    heatmap_wh = np.array([width, height])
    image_wh = heatmap_wh * IMAGE_PER_HEATMAP
    if method == 'udp':
        generator = transforms.TopDownGenerateTarget(
            sigma=sigma, encoding='UDP', target_type='GaussianHeatmap')
        image_extent = image_wh - 1.0
    else:
        generator = transforms.TopDownGenerateTarget(
            sigma=sigma, encoding='MSRA', unbiased_encoding=method == 'dark')
        image_extent = image_wh.astype(np.float64)
    ann_info = dict(
        image_size=image_wh,
        heatmap_size=heatmap_wh,
        num_joints=num_kpts,
        joint_weights=np.ones((num_kpts, 1), dtype=np.float32),
        use_different_joint_weights=False)
    keypoints = keypoints.double().numpy()
    rois = rois.double().numpy()
    targets, weights = [], []
    for kpts, roi in zip(keypoints, rois):
        joints = np.zeros((num_kpts, 3), dtype=np.float32)
        joints[:, :2] = (kpts[:, :2] - roi[:2]) * image_extent / (roi[2:] - roi[:2])
        visible = np.zeros((num_kpts, 3), dtype=np.float32)
        visible[:, :2] = np.minimum(1, kpts[:, 2:3])
        results = generator(dict(joints_3d=joints, joints_3d_visible=visible, ann_info=ann_info))
        targets.append(results['target'])
        weights.append(results['target_weight'][:, 0])
    return np.stack(targets), np.stack(weights)


def mmpose_decode(heatmaps, rois, method, kernel=11):
    """keypoints_from_heatmaps: (keypoints [N, K, 2], scores [N, K]) as numpy."""
    evaluation = import_mmpose('core.evaluation')
    center, scale = (t.double().numpy() for t in rois_to_center_scale(rois))
    heatmaps = heatmaps.numpy().copy()
    if method == 'msra':
        kwargs = dict(post_process='default')
    elif method == 'dark':
        kwargs = dict(post_process='unbiased', kernel=kernel)
    else:
        kwargs = dict(post_process='default', use_udp=True, target_type='GaussianHeatmap', kernel=kernel)
    keypoints, scores = evaluation.keypoints_from_heatmaps(heatmaps, center, scale, **kwargs)
    return keypoints, scores[..., 0]


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
