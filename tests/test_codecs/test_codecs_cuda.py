"""The codecs on a GPU give what they give on the CPU (marked ``cuda``: skipped without a GPU)."""
import pytest
import torch

from mmhrkpt.codecs import build_codec

pytestmark = pytest.mark.cuda

CODECS = [
    dict(type='MSRAHeatmap', heatmap_size=(64, 48), sigma=2.0),
    dict(type='DarkHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11),
    dict(type='UDPHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11),
    dict(type='OneHotHeatmap', heatmap_size=(56, 56))
]


def _inputs(num=64, num_keypoints=17, seed=0):
    g = torch.Generator().manual_seed(seed)
    wh = 16 + torch.rand(num, 2, generator=g) * 300
    xy = torch.rand(num, 2, generator=g) * 400
    rois = torch.cat([xy, xy + wh], 1)
    frac = torch.rand(num, num_keypoints, 2, generator=g) * 1.2 - 0.1  # some outside the RoI
    kpts = torch.cat([
        rois[:, None, :2] + frac * wh[:, None],
        torch.randint(0, 3, (num, num_keypoints, 1), generator=g).float()
    ], -1)
    return kpts, rois


@pytest.fixture
def no_tf32():
    """Full float32 convolutions on the GPU (cuDNN may use TF32 for the decoders' blur)."""
    previous = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = previous


@pytest.mark.parametrize('cfg', CODECS, ids=lambda c: c['type'])
def test_encode_decode_on_cuda_equal_cpu(cfg, no_tf32):
    codec = build_codec(cfg)
    kpts, rois = _inputs()
    targets, weights = codec.encode(kpts, rois)
    targets_gpu, weights_gpu = codec.encode(kpts.cuda(), rois.cuda())
    assert targets_gpu.is_cuda and weights_gpu.is_cuda
    torch.testing.assert_close(targets_gpu.cpu(), targets, atol=1e-5, rtol=0)
    torch.testing.assert_close(weights_gpu.cpu(), weights)

    g = torch.Generator().manual_seed(1)
    heatmaps = torch.rand(len(rois), kpts.shape[1], *codec.heatmap_size, generator=g) * 1e-3
    if targets.dim() == 4:
        heatmaps = heatmaps + targets  # peaks where the keypoints are
    coords, scores = codec.decode(heatmaps, rois)
    coords_gpu, scores_gpu = codec.decode(heatmaps.cuda(), rois.cuda())
    # image pixels: the codec tests' tolerance against mmpose
    torch.testing.assert_close(coords_gpu.cpu(), coords, atol=1e-2, rtol=0)
    torch.testing.assert_close(scores_gpu.cpu(), scores, atol=1e-5, rtol=0)
