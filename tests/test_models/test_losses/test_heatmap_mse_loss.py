import subprocess
import sys

import pytest
import torch
from mmdet.models.builder import build_loss

from mmhrkpt.utils import import_mmpose


@pytest.mark.parametrize('use_target_weight', [True, False])
def test_heatmap_mse_loss_equals_mmpose_joints_mse_loss(use_target_weight):
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(5, 17, 16, 12, generator=g, requires_grad=True)
    target = torch.rand(5, 17, 16, 12, generator=g)
    weight = (torch.rand(5, 17, 1, generator=g) > 0.3).float()
    ours = build_loss(dict(type='HeatmapMSELoss', use_target_weight=use_target_weight, loss_weight=1000.))
    import_mmpose('models')  # registers mmpose's losses under the 'mmpose' scope
    ref = build_loss(
        dict(type='mmpose.JointsMSELoss', use_target_weight=use_target_weight, loss_weight=1000.))
    a, b = ours(pred, target, weight), ref(pred, target, weight)
    assert torch.allclose(a, b, rtol=1e-5)
    ga, = torch.autograd.grad(a, pred)
    gb, = torch.autograd.grad(b, pred)
    assert torch.allclose(ga, gb, rtol=1e-5, atol=1e-9)
    # weights matter when they are used
    if use_target_weight:
        assert not torch.allclose(ours(pred, target, torch.ones_like(weight)), a)


def test_heatmap_mse_loss_is_the_head_default_and_mmpose_stays_selectable():
    """In a fresh process: the default head builds without mmpose; naming mmpose's loss imports it."""
    code = (
        'import sys\n'
        'import mmhrkpt\n'
        'from mmdet.models.builder import build_head\n'
        "head = build_head(dict(type='HeatmapKeypointHead', in_channels=8, num_convs=1,\n"
        "                       conv_out_channels=8, deconv_out_channels=8))\n"
        "assert type(head.loss_keypoint).__name__ == 'HeatmapMSELoss'\n"
        "assert head.loss_keypoint.loss_weight == 3000.0\n"
        "assert 'mmpose' not in sys.modules\n"
        "head = build_head(dict(type='HeatmapKeypointHead', in_channels=8, num_convs=1,\n"
        "                       conv_out_channels=8, deconv_out_channels=8,\n"
        "                       loss_keypoint=dict(type='mmpose.JointsMSELoss', use_target_weight=True)))\n"
        "assert type(head.loss_keypoint).__module__.startswith('mmpose.')\n")
    subprocess.run([sys.executable, '-c', code], check=True)
