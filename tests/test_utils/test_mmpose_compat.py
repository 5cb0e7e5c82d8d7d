import sys

import mmcv
import numpy as np
import pytest
import torch

from mmhrkpt.utils import import_mmpose


def test_mmpose_imports_and_mmcv_version_is_restored():
    mmpose = import_mmpose()
    assert mmpose.__version__ == '0.29.0'
    assert mmcv.__version__ == '1.7.2'  # the real version, not the one shown to mmpose's assert
    assert 'mmpose' in sys.modules


def test_mmpose_reference_functions_we_use_work_on_mmcv_172():
    evaluation = import_mmpose('core.evaluation.top_down_eval')
    # One Gaussian peak at (x, y) = (20, 30) on a 64x48 map: every decoder finds it.
    H, W = 64, 48
    yy, xx = np.mgrid[0:H, 0:W]
    hm = np.exp(-((xx - 20)**2 + (yy - 30)**2) / (2 * 2.0**2))[None, None].astype(np.float32)
    center, scale = np.array([[24.0, 32.0]]), np.array([[W / 200.0, H / 200.0]])
    for kwargs in (dict(post_process='default'), dict(post_process='unbiased', kernel=11),
                   dict(post_process='default', use_udp=True, target_type='GaussianHeatmap')):
        preds, maxvals = evaluation.keypoints_from_heatmaps(hm.copy(), center, scale, **kwargs)
        assert maxvals[0, 0, 0] == pytest.approx(1.0, abs=1e-6)
        assert np.isfinite(preds).all()

    pipelines = import_mmpose('datasets.pipelines.top_down_transform')
    gen = pipelines.TopDownGenerateTarget(sigma=2)
    cfg = dict(
        image_size=np.array([192, 256]),
        heatmap_size=np.array([48, 64]),
        num_joints=1,
        joint_weights=np.ones((1, 1), np.float32),
        use_different_joint_weights=False)
    target, weight = gen._msra_generate_target(cfg, np.array([[80.0, 120.0, 0]]), np.array([[1.0, 1.0, 0]]),
                                               2)
    assert target.shape == (1, 64, 48) and weight[0, 0] == 1
    assert np.unravel_index(target[0].argmax(), (64, 48)) == (30, 20)

    losses = import_mmpose('models.losses')
    loss = losses.JointsMSELoss(use_target_weight=True)
    pred = torch.zeros(2, 3, 8, 6)
    assert loss(pred, pred.clone(), torch.ones(2, 3, 1)).item() == 0
    assert loss(pred + 1, pred, torch.ones(2, 3, 1)).item() > 0


def test_mmpose_loss_resolves_through_mmdet_registry():
    from mmdet.models.builder import build_loss
    loss = build_loss(dict(type='mmpose.JointsMSELoss', use_target_weight=True))
    assert type(loss).__module__.startswith('mmpose.')
