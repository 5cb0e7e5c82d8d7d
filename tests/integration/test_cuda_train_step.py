"""A training step and a test of the tiny Keypoint R-CNN on a GPU, in fp32 and in fp16 as mmcv's
Fp16OptimizerHook runs it (marked ``cuda``: skipped without a GPU)."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmcv import Config
from mmcv.runner import wrap_fp16_model
from mmdet.models import build_detector

pytestmark = pytest.mark.cuda
TINY = Path(__file__).resolve().parents[1] / 'data' / 'tiny_krcnn.py'


def _batch(device, size=128):
    img = torch.randn(2, 3, size, size, device=device)
    meta = dict(
        img_shape=(size, size, 3),
        ori_shape=(size, size, 3),
        pad_shape=(size, size, 3),
        scale_factor=np.ones(4, dtype=np.float32),
        flip=False,
        batch_input_shape=(size, size),
        keypoint_flip_pairs=[(1, 2), (3, 4)])
    boxes = torch.tensor([[10., 20., 60., 110.], [70., 10., 120., 100.]], device=device)
    g = torch.Generator().manual_seed(0)
    kpts = torch.rand(2, 17, 3, generator=g).to(device)
    kpts[..., :2] = boxes[:, None, :2] + kpts[..., :2] * (boxes[:, None, 2:] - boxes[:, None, :2])
    kpts[..., 2] = 2.0
    labels = torch.zeros(2, dtype=torch.long, device=device)
    return img, [meta, dict(meta)], [boxes, boxes.clone()], [labels, labels.clone()], [kpts, kpts]


@pytest.mark.parametrize('fp16', [False, True])
def test_train_step_and_test_on_cuda(fp16):
    torch.manual_seed(0)
    cfg = Config.fromfile(str(TINY))
    model = build_detector(cfg.model).cuda()
    model.init_weights()
    model.train()
    if fp16:
        wrap_fp16_model(model)
        assert model.roi_head.keypoint_head.fp16_enabled
    img, metas, boxes, labels, kpts = _batch('cuda')
    seen = []
    head = model.roi_head.keypoint_head
    head.loss_keypoint.register_forward_pre_hook(lambda m, args: seen.append(args[0].dtype))
    with torch.autocast('cuda', enabled=fp16):
        losses = model.forward_train(img, metas, boxes, labels, gt_keypoints=kpts)
    loss, log_vars = model._parse_losses(losses)
    assert all(np.isfinite(v) for v in log_vars.values()), log_vars
    assert seen == [torch.float32]  # the heatmap loss in float32 either way
    loss.backward()
    assert head.conv_logits.weight.grad.abs().sum() > 0

    model.eval()
    model.test_cfg.rcnn.score_thr = 0.0
    with torch.no_grad(), torch.autocast('cuda', enabled=fp16):
        (bbox_results, keypoint_results), = model.simple_test(img[:1], metas[:1], rescale=True)
    assert keypoint_results[0].dtype == np.float32
    assert keypoint_results[0].shape == (len(bbox_results[0]), 17, 3)
