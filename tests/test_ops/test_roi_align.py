"""SparseRoIAlign against mmcv's RoIAlign (outputs and gradients) and torchvision's roi_align."""
import pytest
import torch
from mmcv.ops import RoIAlign
from roi_utils import build, feats_for, random_rois
from torchvision.ops import roi_align

from mmhrkpt.ops import SparseRoIAlign
from mmhrkpt.ops.roi_align import roi_align_entries


def edge_rois(img_size=256):
    """RoIs that reach past the image (points beyond -1 / the size count zero, others clamp),
    degenerate ones (zero width or height) and one exactly on the last pixel."""
    s = float(img_size)
    return torch.tensor([
        [0, -40., -30., 60., 50.],
        [1, s - 30., s - 20., s + 50., s + 70.],
        [0, -200., 10., -150., 60.],  # entirely left of the image
        [1, 20., 30., 20., 90.],  # zero width
        [0, 10., 40., 70., 40.],  # zero height
        [1, s - 1., s - 1., s, s],
        [0, 0., 0., s, s],
    ])


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 1, 2])
@pytest.mark.parametrize('output_size', [7, (16, 12)])
def test_sparse_roi_align_equals_mmcv(aligned, sampling_ratio, output_size):
    feat = feats_for(strides=[8])[0].requires_grad_()
    rois = torch.cat([random_rois(40), edge_rois()])
    ours = SparseRoIAlign(output_size, 1 / 8, sampling_ratio, aligned=aligned)
    ref = RoIAlign(output_size, 1 / 8, sampling_ratio, aligned=aligned)
    out, expected = ours(feat, rois), ref(feat, rois)
    assert out.shape == expected.shape == (len(rois), 8, *ours.output_size)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    grad_out = torch.randn_like(out)
    g1, = torch.autograd.grad(out, feat, grad_out)
    g2, = torch.autograd.grad(expected, feat, grad_out)
    assert g1.shape == feat.shape
    torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-5)


def test_sparse_roi_align_channels_last_and_float64():
    feat = feats_for(strides=[4], channels=5)[0].double()
    rois = random_rois(25).double()
    expected = roi_align(feat, rois, (16, 12), 0.25, 2, True)
    for f in (feat, feat.contiguous(memory_format=torch.channels_last)):
        out = SparseRoIAlign((16, 12), 0.25, 2)(f, rois)
        assert out.dtype == torch.float64
        torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)


def test_sparse_roi_align_under_autocast_pools_in_float32():
    """Autocast would cast the sparse products to bfloat16, which MKL has no kernel for: the layer
    turns it off, so the output and the gradient are the float32 ones, and the output is float32."""
    feat = feats_for(strides=[4], channels=6)[0].contiguous(memory_format=torch.channels_last)
    feat.requires_grad_()
    rois = random_rois(20)
    layer = SparseRoIAlign((16, 12), 0.25, 2)
    expected = layer(feat, rois)
    grad_out = torch.randn_like(expected)
    g_expected, = torch.autograd.grad(expected, feat, grad_out)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = layer(feat, rois)
        g, = torch.autograd.grad(out, feat, grad_out)  # backward inside the region too
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    torch.testing.assert_close(g, g_expected, rtol=0, atol=0)


def test_sparse_roi_align_pools_bfloat16_features_in_float32():
    feat = feats_for(strides=[4], channels=6)[0].bfloat16().requires_grad_()
    rois = random_rois(20)
    layer = SparseRoIAlign((16, 12), 0.25, 2)
    out = layer(feat, rois)
    assert out.dtype == torch.bfloat16
    expected = layer(feat.detach().float(), rois)  # the float32 pooling of the same values
    torch.testing.assert_close(out, expected.bfloat16(), rtol=0, atol=0)
    out.float().sum().backward()
    assert feat.grad.dtype == torch.bfloat16 and torch.isfinite(feat.grad.float()).all()


def test_sparse_roi_align_gradcheck():
    feat = torch.randn(2, 3, 6, 5, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0, 1.3, 0.4, 14.2, 18.9], [1, -3., 2., 9., 30.], [1, 5., 5., 5., 9.]],
                        dtype=torch.float64)
    layer = SparseRoIAlign((3, 2), 0.5, 0)
    assert torch.autograd.gradcheck(lambda f: layer(f, rois), (feat, ))


def test_sparse_roi_align_no_rois_and_no_grad():
    feat = feats_for(strides=[4])[0].requires_grad_()
    out = SparseRoIAlign(7, 0.25)(feat, torch.zeros(0, 5))
    assert out.shape == (0, 8, 7, 7)
    with torch.no_grad():
        out = SparseRoIAlign(7, 0.25)(feat, random_rois(3))
    assert out.shape == (3, 8, 7, 7) and not out.requires_grad


def test_entries_skip_zero_weights():
    """Adaptive sampling pads every RoI to the largest one's point count; the padding points (and
    points outside the map) must not become stored entries."""
    rois = torch.tensor([[0, 0., 0., 8., 8.], [0, 0., 0., 256., 256.]])
    counts, cols, vals = roi_align_entries(rois, (1, 64, 64), (2, 2), 0.25, 0, True)
    assert counts.shape == (8, ) and (vals != 0).all()
    # small RoI: 1 point per bin and axis -> at most 4 neighbours; large: 32 points -> more
    assert counts[:4].max() <= 4 and counts[4:].min() > 4
    assert int(counts.sum()) == len(cols) == len(vals)
    assert cols.max() < 64 * 64


def test_sparse_roi_align_hands_huge_matrices_to_torchvision(monkeypatch):
    """Adaptive sampling of large RoIs on a fine map would need a very large matrix: above
    MAX_SPARSE_ENTRIES the layer uses torchvision's kernel instead (same result)."""
    from mmhrkpt.ops import roi_align as module
    feat = feats_for(strides=[4])[0].requires_grad_()
    rois = random_rois(10)
    layer = SparseRoIAlign((14, 14), 0.25, 0)
    entries = layer._num_candidate_entries(rois)
    # 10 RoIs, 196 bins, 4 candidates per point pair, at least 1 point per axis
    assert entries >= 10 * 196 * 4
    calls = []
    monkeypatch.setattr(module, 'roi_align', lambda *a: calls.append(1) or roi_align(*a))
    expected = RoIAlign((14, 14), 0.25, 0, aligned=True)(feat, rois)
    out = layer(feat, rois)  # below the limit: sparse products
    assert not calls
    monkeypatch.setattr(module, 'MAX_SPARSE_ENTRIES', entries - 1)
    fallback = layer(feat, rois)
    assert calls
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fallback, expected, rtol=1e-5, atol=1e-5)


def test_sparse_roi_align_rejects_bad_arguments():
    with pytest.raises(ValueError, match="pool_mode='avg'"):
        SparseRoIAlign(7, 0.25, pool_mode='max')
    with pytest.raises(ValueError, match='sampling_ratio'):
        SparseRoIAlign(7, 0.25, sampling_ratio=-1)


@pytest.mark.parametrize('training', [True, False])
def test_fast_extractor_with_sparse_layer_equals_mmdet(training):
    rois = random_rois(30, img_size=640)
    feats = [f.requires_grad_() for f in feats_for(img_size=640)]
    ours = build('SingleLevelRoIExtractor', 'SparseRoIAlign').train(training)
    ref = build('SingleRoIExtractor', 'RoIAlign').train(training)
    out, expected = ours(feats, rois), ref(feats, rois)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    grad_out = torch.randn_like(out)
    g1 = torch.autograd.grad(out, feats, grad_out, allow_unused=True)
    g2 = torch.autograd.grad(expected, feats, grad_out, allow_unused=True)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
