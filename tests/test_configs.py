"""Every config builds, and the HRNet-W32 DARK Keypoint R-CNN trains and tests on CPU."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmcv import Config
from mmdet.datasets.builder import PIPELINES
from mmdet.models import build_detector

from mmhrkpt.datasets import resolve_keypoint_meta

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)


def _load(path):
    cfg = Config.fromfile(str(ROOT / path))
    cfg.model.backbone.init_cfg = None  # no download in tests
    return cfg


def _pipeline_types(pipeline):
    for step in pipeline:
        yield step['type']
        yield from _pipeline_types(step.get('transforms', []))


def test_all_expected_configs_exist():
    for name in ('krcnn_hrnet/krcnn_hrnet_w32_hrfpn_heatmap_1x_coco.py',
                 'krcnn_hrnet/krcnn_hrnet_w32_hrfpn_dark_1x_coco.py',
                 'krcnn_hrnet/krcnn_hrnet_w32_hrfpn_udp_1x_coco.py',
                 'krcnn_hrnet/krcnn_hrnet_w18_hrfpn_heatmap_1x_coco.py',
                 'krcnn_r50/krcnn_r50_fpn_heatmap_1x_coco.py', 'krcnn_r50/krcnn_r50_fpn_onehot_1x_coco.py',
                 'krcnn_hrnet/krcnn_hrnet_w32_hrfpn_dark_fp16_1x_coco.py',
                 'krcnn_hrnet/krcnn_hrnet_w32_hrfpn_dark_1x_crowdpose.py',
                 'synthetic/krcnn_hrnet_w18_synthetic.py',
                 'synthetic/study/krcnn_hrnet_w18_synthetic_onehot.py',
                 'synthetic/study/krcnn_hrnet_w18_synthetic_msra.py',
                 'synthetic/study/krcnn_hrnet_w18_synthetic_udp.py'):
        assert f'configs/{name}' in CONFIGS, name


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds(path):
    cfg = _load(path)
    model = build_detector(cfg.model)
    assert type(model).__name__ == 'KeypointRCNN'
    head = model.roi_head.keypoint_head
    info = cfg.data.test.get('dataset_info', None)
    # the head predicts the dataset meta's keypoints (COCO's 17 when the json's category names them)
    assert head.num_keypoints == (len(resolve_keypoint_meta(info)['keypoint_names']) if info else 17)
    for split in ('train', 'val', 'test'):
        assert cfg.data[split].type in ('CocoKeypointDataset', 'CrowdPoseKeypointDataset')
        assert cfg.data[split].get('dataset_info', None) == info
        for step in _pipeline_types(cfg.data[split].pipeline):
            assert PIPELINES.get(step) is not None, (split, step)


@pytest.fixture(scope='module')
def tiny_synthetic(tmp_path_factory):
    from mmhrkpt.testing.synthetic import generate_synthetic_coco
    return generate_synthetic_coco(
        str(tmp_path_factory.mktemp('syn')), 2, 1, seed=0, progress=False, preview=False)


@pytest.mark.parametrize('path', CONFIGS)
def test_config_pipelines_run(path, tiny_synthetic):
    """Every config's train and test pipelines produce what the model's forward reads."""
    from mmdet.datasets import build_dataset
    cfg = _load(path)
    for split, mode in (('train', False), ('test', True)):
        data_cfg = cfg.data[split].copy()
        # the synthetic people are COCO's 17 keypoints: the config's pipelines, COCO's meta
        data_cfg.update(
            type='CocoKeypointDataset',
            dataset_info=None,
            ann_file=tiny_synthetic['train']['ann_file'],
            img_prefix=tiny_synthetic['train']['img_prefix'])
        sample = build_dataset(data_cfg, dict(test_mode=mode))[0]
        if mode:
            metas = sample['img_metas'][0].data
            assert sample['img'][0].dim() == 3
        else:
            metas = sample['img_metas'].data
            assert len(sample['gt_keypoints'].data) == len(sample['gt_bboxes'].data) > 0
        for key in ('img_shape', 'scale_factor', 'flip', 'keypoint_flip_pairs'):
            assert key in metas, (split, key)


def test_codec_chosen_by_config_inheritance():
    codecs = {
        name: type(build_detector(
            _load(f'configs/krcnn_hrnet/{name}').model).roi_head.keypoint_head.codec).__name__
        for name in ('krcnn_hrnet_w32_hrfpn_heatmap_1x_coco.py', 'krcnn_hrnet_w32_hrfpn_dark_1x_coco.py',
                     'krcnn_hrnet_w32_hrfpn_udp_1x_coco.py')
    }
    assert sorted(codecs.values()) == ['DarkHeatmap', 'MSRAHeatmap', 'UDPHeatmap']


def _batch(size=192):
    img = torch.randn(1, 3, size, size)
    meta = dict(
        img_shape=(size, size, 3),
        ori_shape=(size, size, 3),
        pad_shape=(size, size, 3),
        scale_factor=np.ones(4, dtype=np.float32),
        flip=False,
        batch_input_shape=(size, size),
        keypoint_flip_pairs=[(1, 2), (3, 4)])
    boxes = torch.tensor([[30., 20., 90., 170.], [100., 40., 160., 180.]])
    g = torch.Generator().manual_seed(0)
    kpts = torch.rand(2, 17, 3, generator=g)
    kpts[..., :2] = boxes[:, None, :2] + kpts[..., :2] * (boxes[:, None, 2:] - boxes[:, None, :2])
    kpts[..., 2] = 2.0
    return img, [meta], [boxes], [torch.zeros(2, dtype=torch.long)], [kpts]


def test_w32_dark_train_step_and_test_on_cpu():
    cfg = _load('configs/krcnn_hrnet/krcnn_hrnet_w32_hrfpn_dark_1x_coco.py')
    cfg.model.backbone.norm_eval = False  # random init: batch statistics
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    model.init_weights()
    model.train()
    img, metas, boxes, labels, kpts = _batch()
    losses = model.forward_train(img, metas, boxes, labels, gt_keypoints=kpts)
    loss, log_vars = model._parse_losses(losses)
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_keypoint'):
        assert np.isfinite(log_vars[key]), key
    assert log_vars['loss_keypoint'] > 0
    loss.backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0  # gradients reach the backbone
    assert model.roi_head.keypoint_head.conv_logits.weight.grad.abs().sum() > 0

    # A random-init HRNet needs BN running statistics before eval mode means anything: take them
    # from one batch (momentum 1).
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = 1.0
        model.extract_feat(img)
    model.eval()
    # Low thresholds so that a random model still yields detections to decode keypoints for.
    model.roi_head.test_cfg.score_thr = 0.0
    with torch.no_grad():
        results = model.simple_test(img, metas, rescale=True)
    (bbox_results, kpt_results), = results
    assert len(bbox_results) == len(kpt_results) == 1
    assert bbox_results[0].ndim == 2 and bbox_results[0].shape[1] == 5
    assert kpt_results[0].shape == (len(bbox_results[0]), 17, 3)
    assert len(bbox_results[0]) > 0

    # flip test through the config switch, and aug_test with mmdet's flipped copy
    model.test_cfg.rcnn.keypoint.flip_test = True
    with torch.no_grad():
        flipped = model.simple_test(img, metas, rescale=True)
        flip_meta = [dict(metas[0], flip=True, flip_direction='horizontal')]
        aug = model.aug_test([img, img.flip(-1)], [metas, flip_meta], rescale=True)
    assert flipped[0][1][0].shape == kpt_results[0].shape
    # the flip of the batch tensor and mmdet's flip within img_shape agree here (no padding)
    np.testing.assert_allclose(aug[0][1][0], flipped[0][1][0], atol=1e-4)
