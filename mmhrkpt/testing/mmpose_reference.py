"""mmpose 0.29's heatmap codecs in mmhrkpt's RoI contract: the oracle of the codec tests and the
baseline of ``tools/analysis_tools/benchmark.py codec``; plus the synthetic heatmaps both feed them.

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size.

mmpose works in an "input image" frame of ``image_size`` pixels that its heatmap divides evenly (msra,
dark) or corner to corner (udp). RoI-frame keypoints are put into that frame so that mmpose's heatmap
coordinate equals mmhrkpt's contract (mmhrkpt/codecs/msra.py, dark.py, udp.py):

* msra / dark: stride ``image_size / heatmap_size`` and ``x_img = (x - x1) * image_W / w``
  -> ``x_hm = x_img * W / image_W = (x - x1) * W / w``;
* udp: stride ``(image_size - 1) / (heatmap_size - 1)`` and ``x_img = (x - x1) * (image_W - 1) / w``
  -> ``x_hm = (x - x1) * (W - 1) / w``.

Decoding uses mmpose's ``center`` = RoI centre and ``scale`` = RoI size / 200 (``rois_to_center_scale``).
Each function returns a callable doing only mmpose's work, so a benchmark times exactly that; the
frame conversion happens before, once.
"""
import numpy as np
import torch

from mmhrkpt.codecs.utils import rois_to_center_scale
from mmhrkpt.utils.mmpose_compat import import_mmpose

# mmpose's input image is this many times the heatmap (any value works; 4 is mmpose's usual).
IMAGE_PER_HEATMAP = 4


def mmpose_encoder(keypoints, rois, heatmap_size, sigma, method):
    """``fn() -> (targets [N, K, H, W], weights [N, K])``: TopDownGenerateTarget looped over RoIs.

    Args:
        keypoints (Tensor[N, K, 3]): (x, y, v) in image pixels.
        rois (Tensor[N, 4]): expanded RoIs (x1, y1, x2, y2).
        heatmap_size (tuple[int]): (H, W).
        sigma (float): Gaussian sigma in heatmap cells.
        method (str): 'msra', 'dark' (MSRA with unbiased encoding) or 'udp'.
    """
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
    instances = []
    for kpts, roi in zip(keypoints.double().numpy(), rois.double().numpy()):
        joints = np.zeros((num_kpts, 3), dtype=np.float32)
        joints[:, :2] = (kpts[:, :2] - roi[:2]) * image_extent / (roi[2:] - roi[:2])
        visible = np.zeros((num_kpts, 3), dtype=np.float32)
        visible[:, :2] = np.minimum(1, kpts[:, 2:3])
        instances.append((joints, visible))

    def encode():
        targets, weights = [], []
        for joints, visible in instances:
            out = generator(dict(joints_3d=joints, joints_3d_visible=visible, ann_info=ann_info))
            targets.append(out['target'])
            weights.append(out['target_weight'][:, 0])
        return np.stack(targets), np.stack(weights)

    return encode


def mmpose_decoder(heatmaps, rois, method, kernel=11):
    """``fn() -> (keypoints [N, K, 2], scores [N, K])``: mmpose's ``keypoints_from_heatmaps``.

    Args:
        heatmaps (Tensor[N, K, H, W]): CPU tensor (mmpose copies it before editing it).
        rois (Tensor[N, 4]): the RoIs the heatmaps belong to.
        method (str): 'msra' (post_process='default'), 'dark' ('unbiased') or 'udp' (use_udp).
        kernel (int): the blur kernel of dark and udp.
    """
    evaluation = import_mmpose('core.evaluation')
    center, scale = (t.double().numpy() for t in rois_to_center_scale(rois))
    maps = heatmaps.numpy()
    if method == 'msra':
        kwargs = dict(post_process='default')
    elif method == 'dark':
        kwargs = dict(post_process='unbiased', kernel=kernel)
    else:
        kwargs = dict(post_process='default', use_udp=True, target_type='GaussianHeatmap', kernel=kernel)

    def decode():
        keypoints, scores = evaluation.keypoints_from_heatmaps(maps, center, scale, **kwargs)
        return keypoints, scores[..., 0]

    return decode


def gaussian_peaks(generator, num, num_kpts, heatmap_size, sigma=2.0, margin=0.0, noise=1e-3):
    """What a trained head predicts: one Gaussian peak per map plus a little uniform noise.

    Peaks have amplitude 0.3..1 and lie at random sub-cell positions at least ``margin`` cells inside
    the map.

    Returns:
        tuple: Tensor[N, K, H, W] maps (float32) and Tensor[N, K, 2] the peak positions (x, y) in
        heatmap cells.
    """
    height, width = heatmap_size
    low = torch.tensor([margin, margin])
    high = torch.tensor([width - 1 - margin, height - 1 - margin])
    centres = low + torch.rand(num, num_kpts, 2, generator=generator) * (high - low)
    amplitude = 0.3 + 0.7 * torch.rand(num, num_kpts, 1, 1, generator=generator)
    xs = torch.arange(width, dtype=torch.float32)
    ys = torch.arange(height, dtype=torch.float32)[:, None]
    maps = amplitude * torch.exp(-((xs - centres[..., 0, None, None])**2 +
                                   (ys - centres[..., 1, None, None])**2) / (2 * sigma**2))
    maps = maps + noise * torch.rand(maps.shape, generator=generator)
    return maps.contiguous(), centres
