"""KeypointRCNN(channels_last=True): same losses, gradients and results as the default layout."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmcv import Config
from mmdet.models import build_detector

ROOT = Path(__file__).resolve().parents[3]
TINY = ROOT / 'tests' / 'data' / 'tiny_krcnn.py'


def _batch(size=128):
    g = torch.Generator().manual_seed(0)
    img = torch.randn(2, 3, size, size, generator=g)
    meta = dict(
        img_shape=(size, size, 3),
        ori_shape=(size, size, 3),
        pad_shape=(size, size, 3),
        scale_factor=np.ones(4, dtype=np.float32),
        flip=False,
        batch_input_shape=(size, size))
    boxes = torch.tensor([[10., 8., 60., 110.], [60., 20., 120., 120.]])
    kpts = torch.rand(2, 17, 3, generator=g)
    kpts[..., :2] = boxes[:, None, :2] + kpts[..., :2] * (boxes[:, None, 2:] - boxes[:, None, :2])
    kpts[..., 2] = 2.0
    return img, [meta] * 2, [boxes] * 2, [torch.zeros(2, dtype=torch.long)] * 2, [kpts] * 2


def _build(channels_last, roi_layer=None):
    cfg = Config.fromfile(str(TINY))
    cfg.model.channels_last = channels_last
    if roi_layer:
        cfg.model.roi_head.bbox_roi_extractor.roi_layer.type = roi_layer
        cfg.model.roi_head.keypoint_roi_extractor.roi_layer.type = roi_layer
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    model.init_weights()
    return model


@pytest.mark.parametrize('roi_layer', ['SparseRoIAlign', 'TVRoIAlign'])
def test_channels_last_equals_default_layout(roi_layer):
    ref = _build(False, roi_layer)
    model = _build(True, roi_layer)
    model.load_state_dict(ref.state_dict())
    conv = model.backbone.conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert model.roi_head.bbox_head.fc_cls.weight.is_contiguous()  # 2-d weights untouched

    img, metas, boxes, labels, kpts = _batch()
    results = []
    for m in (ref, model):
        m.train()
        torch.manual_seed(1)  # the samplers draw random RoIs
        losses = m.forward_train(img, metas, boxes, labels, gt_keypoints=kpts)
        loss, log_vars = m._parse_losses(losses)
        loss.backward()
        results.append((log_vars, {n: p.grad for n, p in m.named_parameters() if p.grad is not None}))
    (vars_ref, grads_ref), (vars_cl, grads_cl) = results
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_keypoint'):
        assert vars_cl[key] == pytest.approx(vars_ref[key], rel=1e-4, abs=1e-6), key
    assert grads_cl.keys() == grads_ref.keys()
    for name, grad in grads_ref.items():
        # oneDNN sums in another order per layout, which matters most in the stem, whose gradients
        # are sums over every pixel with cancellation; a layout mix-up gives errors of order 1.
        err = (grads_cl[name] - grad).norm() / grad.norm().clamp(min=1e-12)
        assert err < 2e-2, (name, float(err))

    ref.eval()
    model.eval()
    with torch.no_grad():
        (box_ref, kpt_ref), = ref.simple_test(img[:1], metas[:1], rescale=True)
        (box_cl, kpt_cl), = model.simple_test(img[:1], metas[:1], rescale=True)
    assert len(box_ref[0]) > 0
    np.testing.assert_allclose(box_cl[0], box_ref[0], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(kpt_cl[0], kpt_ref[0], rtol=1e-4, atol=1e-3)


def test_channels_last_refuses_mmcv_roi_align():
    with pytest.raises(ValueError, match="SparseRoIAlign' or 'TVRoIAlign'"):
        _build(True, 'RoIAlign')
    _build(False, 'RoIAlign')  # the default layout keeps mmcv's layer
