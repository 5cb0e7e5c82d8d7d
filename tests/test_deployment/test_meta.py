"""What an exported model records of its config (mmhrkpt.deployment.meta)."""
import pytest
from mmcv import Config

from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES, COCO_SKELETON, derive_flip_pairs
from mmhrkpt.deployment.meta import keypoint_meta, preprocessing_meta

SYNTHETIC = 'configs/synthetic/krcnn_hrnet_w18_synthetic.py'
COCO = 'configs/krcnn_r50/krcnn_r50_fpn_heatmap_1x_coco.py'


def test_preprocessing_of_the_configs():
    meta = preprocessing_meta(Config.fromfile(SYNTHETIC))
    assert meta == dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
        test_scale=[256, 256],
        keep_ratio=True,
        interpolation='bilinear',
        pad_val=0.0,
        size_divisor=32)
    assert preprocessing_meta(Config.fromfile(COCO))['test_scale'] == [1333, 800]


def test_preprocessing_errors_name_the_step():
    cfg = Config.fromfile(SYNTHETIC)
    cfg.data.test.pipeline[1].flip = True
    with pytest.raises(ValueError, match='flip=True'):
        preprocessing_meta(cfg)
    cfg = Config.fromfile(SYNTHETIC)
    cfg.data.test.pipeline[1].transforms = [
        t for t in cfg.data.test.pipeline[1].transforms if t['type'] != 'Pad'
    ]
    with pytest.raises(ValueError, match='Pad'):
        preprocessing_meta(cfg)


def test_keypoint_meta_coco_default_and_dataset_info():
    cfg = Config.fromfile(SYNTHETIC)
    meta = keypoint_meta(cfg, 17)
    assert meta['keypoint_names'] == list(COCO_KEYPOINT_NAMES)
    assert meta['skeleton'] == [list(e) for e in COCO_SKELETON]
    assert meta['flip_pairs'] == [list(p) for p in derive_flip_pairs(COCO_KEYPOINT_NAMES)]
    with pytest.raises(ValueError, match='dataset_info'):
        keypoint_meta(cfg, 5)
    cfg.data.test.dataset_info = dict(keypoint_names=['a', 'left_b', 'right_b'], skeleton=[(0, 1)])
    assert keypoint_meta(cfg, 3) == dict(
        num_keypoints=3, keypoint_names=['a', 'left_b', 'right_b'], flip_pairs=[[1, 2]], skeleton=[[0, 1]])
