"""tools/analysis_tools/get_flops.py: mmcv's counts of layers whose FLOPs are known by hand, and the
parts of a whole model adding up."""
import importlib.util
from pathlib import Path

import pytest
from mmcv import Config
from mmdet.models import build_detector, build_head

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def get_flops():
    spec = importlib.util.spec_from_file_location('get_flops',
                                                  ROOT / 'tools' / 'analysis_tools' / 'get_flops.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_conv_head_by_hand(get_flops):
    """One 3x3 conv 8 -> 5 with bias and ReLU on a 4x3 RoI, a 1x1 conv 5 -> 3 with bias:
    9*8*5*12 + 5*12 (conv, bias) + 5*12 (ReLU) + 5*3*12 + 3*12 (1x1 conv, bias) multiply-adds."""
    head = build_head(
        dict(
            type='HeatmapKeypointHead',
            num_keypoints=3,
            in_channels=8,
            roi_feat_size=(4, 3),
            num_convs=1,
            conv_out_channels=5,
            num_deconvs=0,
            codec=dict(type='MSRAHeatmap', heatmap_size=(4, 3), sigma=2.0)))
    expected = 9 * 8 * 5 * 12 + 5 * 12 + 5 * 12 + 5 * 3 * 12 + 3 * 12
    assert get_flops.keypoint_head_flops(head) == expected == 4656
    assert not any(hasattr(m, '__flops__') for m in head.modules())  # counter records cleared


def test_deconv_head_by_hand(get_flops):
    """A 4x4 stride-2 deconvolution 6 -> 3 (with bias) straight to the heatmaps of a 2x2 RoI: mmcv
    counts 4*4*6*3 per input cell, plus one bias add per output cell."""
    head = build_head(
        dict(
            type='HeatmapKeypointHead',
            num_keypoints=3,
            in_channels=6,
            roi_feat_size=(2, 2),
            num_convs=0,
            num_deconvs=1,
            deconv_to_heatmaps=True,
            codec=dict(type='MSRAHeatmap', heatmap_size=(4, 4), sigma=2.0)))
    assert get_flops.keypoint_head_flops(head) == 4 * 4 * 6 * 3 * 4 + 3 * 16


def test_parts_add_up_on_the_tiny_model(get_flops):
    cfg = Config.fromfile(str(ROOT / 'tests' / 'data' / 'tiny_krcnn.py'))
    model = build_detector(cfg.model)
    rows, dummy_rois = get_flops.model_complexity(model, (3, 64, 96), num_rois=7)
    assert dummy_rois == 100  # KeypointRoIHead.forward_dummy's keypoint branch (checked against per RoI)
    named = {name.split(' (')[0]: (params, flops) for name, params, flops in rows}
    per_roi = named['keypoint_head per RoI'][1]
    assert named['keypoint_head x 7 RoIs'][1] == 7 * per_roi
    # 3x3 conv 16 -> 16 without bias (BN follows), BN, ReLU at 16x12; deconv 16 -> 16 (bias) and ReLU
    # at 32x24; 1x1 conv 16 -> 17 (bias) there (the bilinear resize to 64x48 is not counted)
    conv = 9 * 16 * 16 * 192 + 2 * 16 * 192 + 16 * 192
    deconv = 4 * 4 * 16 * 16 * 192 + 16 * 768 + 16 * 768
    logits = 16 * 17 * 768 + 17 * 768
    assert per_roi == conv + deconv + logits
    parts = ('backbone', 'neck', 'rpn_head', 'bbox_head')
    assert all(named[p][1] > 0 and named[p][0] > 0 for p in parts)
    total_params, total_flops = rows[-1][1:]
    assert total_flops == sum(named[p][1] for p in parts) + 7 * per_roi
    assert total_params == sum(p.numel() for p in model.parameters())
    assert total_params == sum(named[p][0] for p in parts) + named['keypoint_head per RoI'][0]
    assert not any(hasattr(m, '__flops__') for m in model.modules())
