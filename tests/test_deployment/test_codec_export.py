"""The codecs' batched decoding and flip-back, traced into ONNX: the same keypoints in onnxruntime (with
its full graph optimisation) for any number of RoIs."""
import numpy as np
import pytest
import torch
from onnx_utils import export_session, run

from mmhrkpt.codecs import build_codec

CODECS = [
    dict(type='MSRAHeatmap'),
    dict(type='DarkHeatmap', kernel=11),
    dict(type='UDPHeatmap', kernel=11),
    dict(type='OneHotHeatmap')
]
FLIP_PAIRS = [(1, 2), (3, 4)]


def peaked_heatmaps(num, height, width, num_kpts=5, seed=0):
    """One Gaussian peak (sigma 2, amplitude 0.3..1) per map at least 3 cells inside, plus 1e-3 noise:
    what a trained head predicts, where DARK / UDP refinement is well-conditioned."""
    g = torch.Generator().manual_seed(seed)
    mu = torch.rand(num, num_kpts, 2, generator=g) * torch.tensor([width - 6.0, height - 6.0]) + 3
    ys = torch.arange(height, dtype=torch.float32)[:, None]
    xs = torch.arange(width, dtype=torch.float32)[None]
    dist = (xs - mu[..., 0, None, None])**2 + (ys - mu[..., 1, None, None])**2
    amplitude = 0.3 + 0.7 * torch.rand(num, num_kpts, 1, 1, generator=g)
    return amplitude * torch.exp(-dist / 8) + 1e-3 * torch.rand(num, num_kpts, height, width, generator=g)


def random_rois(num, seed=1):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(num, 2, generator=g) * 200
    return torch.cat([xy, xy + 16 + torch.rand(num, 2, generator=g) * 300], 1)


@pytest.mark.parametrize('cfg', CODECS, ids=lambda c: c['type'])
def test_decode_and_flip_back_export(cfg):
    codec = build_codec(cfg)

    class Decode(torch.nn.Module):

        def forward(self, heatmaps, rois):
            keypoints, scores = codec.decode(heatmaps, rois)
            return keypoints, scores, codec.flip_back(heatmaps, FLIP_PAIRS)

    height, width = codec.heatmap_size
    session = export_session(Decode(), (peaked_heatmaps(4, height, width), random_rois(4)), ['h', 'r'],
                             dict(h={0: 'n'}, r={0: 'n'}))
    for num in (30, 1):
        heatmaps, rois = peaked_heatmaps(num, height, width, seed=num), random_rois(num, seed=num)
        keypoints, scores, flipped = run(session, heatmaps, rois)
        expected = Decode()(heatmaps, rois)
        # image pixels (RoIs up to ~300 px over 48..56 cells); float rounding of the blur's products
        np.testing.assert_allclose(keypoints, expected[0].numpy(), rtol=0, atol=1e-3)
        np.testing.assert_allclose(scores, expected[1].numpy(), rtol=0, atol=1e-6)
        np.testing.assert_array_equal(flipped, expected[2].numpy())
