"""SparseRoIAlign and TVRoIAlign on a GPU: outputs and feature gradients equal their CPU ones
(marked ``cuda``: skipped without a GPU)."""
import pytest
import torch
from roi_utils import feats_for, random_rois

from mmhrkpt.ops import SparseRoIAlign, TVRoIAlign

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize('layer', [SparseRoIAlign, TVRoIAlign])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
@pytest.mark.parametrize('output_size', [7, (16, 12)])
def test_roi_align_on_cuda_equals_cpu(layer, sampling_ratio, output_size):
    feat = feats_for(strides=[8])[0]
    rois = random_rois(60)
    op = layer(output_size, 1 / 8, sampling_ratio, aligned=True)
    feat_cpu, feat_gpu = feat.clone().requires_grad_(), feat.cuda().requires_grad_()
    out_cpu, out_gpu = op(feat_cpu, rois), op(feat_gpu, rois.cuda())
    assert out_gpu.is_cuda
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, atol=1e-5, rtol=1e-5)
    grad = torch.randn_like(out_cpu)
    g_cpu, = torch.autograd.grad(out_cpu, feat_cpu, grad)
    g_gpu, = torch.autograd.grad(out_gpu, feat_gpu, grad.cuda())
    torch.testing.assert_close(g_gpu.cpu(), g_cpu, atol=1e-4, rtol=1e-4)
