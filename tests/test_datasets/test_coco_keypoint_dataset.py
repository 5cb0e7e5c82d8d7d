"""CocoKeypointDataset: parsing, filtering, meta, malformed annotations, unreadable images and the
pipeline end to end."""
import json
import logging
import os

import numpy as np
import pytest
import torch
from coco_kpt_data import CROWDPOSE_NAMES, CROWDPOSE_SIGMAS, person, write_coco
from mmcv.parallel import DataContainer
from mmdet.datasets import build_dataset

from mmhrkpt.datasets import (COCO_KEYPOINT_NAMES, COCO_SIGMAS, KEYPOINT_META_KEYS, CocoKeypointDataset,
                              ImageLoadError)

TRAIN_PIPELINE = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='LoadKeypointAnnotations', with_bbox=True, with_keypoints=True),
    dict(type='KeypointResize', img_scale=(160, 120), keep_ratio=True),
    dict(type='KeypointRandomFlip', flip_ratio=0.0),
    dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True),
    dict(type='Pad', size_divisor=32),
    dict(type='KeypointFormatBundle'),
    dict(
        type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_keypoints'], meta_keys=KEYPOINT_META_KEYS),
]


def make(data, pipeline=(), **kwargs):
    return CocoKeypointDataset(data['ann_file'], list(pipeline), img_prefix=data['img_prefix'], **kwargs)


def index_of(dataset, file_name):
    return [info['file_name'] for info in dataset.data_infos].index(file_name)


def test_train_parsing_and_filtering(coco_small):
    dataset = make(coco_small)
    assert [info['file_name'] for info in dataset.data_infos] == ['a.png', 'd.png']
    assert dataset.img_ids == [1, 4]

    ann = dataset.get_ann_info(index_of(dataset, 'a.png'))
    assert set(ann) == {'bboxes', 'labels', 'bboxes_ignore', 'keypoints'}
    np.testing.assert_array_equal(ann['bboxes'], [[10, 5, 40, 45], [45, 10, 65, 40]])
    np.testing.assert_array_equal(ann['labels'], [0, 0])
    # the crowd annotation became an ignore region
    np.testing.assert_array_equal(ann['bboxes_ignore'], [[0, 0, 79, 59]])
    kpts = ann['keypoints']
    assert kpts.shape == (2, 17, 3) and kpts.dtype == np.float32
    # pixel indices -> continuous coordinates (+0.5), visibility kept
    np.testing.assert_array_equal(kpts[0, 0], [20.5, 10.5, 2])
    np.testing.assert_array_equal(kpts[0, 2], [18.5, 9.5, 1])
    np.testing.assert_array_equal(kpts[1, 0], [50.5, 15.5, 2])
    # unlabelled keypoints are (0, 0, 0)
    np.testing.assert_array_equal(kpts[0, 3], [0, 0, 0])
    assert (kpts[1, 1:] == 0).all()

    # person 5's zero-width box is dropped, person 6 stays
    ann = dataset.get_ann_info(index_of(dataset, 'd.png'))
    np.testing.assert_array_equal(ann['bboxes'], [[20, 10, 60, 55]])
    np.testing.assert_array_equal(ann['keypoints'][0, 9], [30.5, 40.5, 1])

    assert dataset.dropped_instances == dict(crowd=1, zero_area_box=1, too_few_keypoints=1, ignore_flag=0)
    assert dataset.dropped_images == dict(no_person=2, too_small=0)


def test_min_keypoints(coco_small):
    dataset = make(coco_small, min_keypoints=3)
    # person 2 (1 labelled) is dropped as well; person 6 has exactly 3
    ann = dataset.get_ann_info(index_of(dataset, 'a.png'))
    assert len(ann['bboxes']) == 1 and len(ann['keypoints']) == 1
    assert len(dataset.get_ann_info(index_of(dataset, 'd.png'))['bboxes']) == 1
    assert dataset.dropped_instances['too_few_keypoints'] == 2
    # min_keypoints=0 keeps the person without any labelled keypoint and so image b.png
    dataset = make(coco_small, min_keypoints=0)
    assert [info['file_name'] for info in dataset.data_infos] == ['a.png', 'b.png', 'd.png']
    with pytest.raises(ValueError, match='min_keypoints'):
        make(coco_small, min_keypoints=-1)


def test_test_mode_keeps_everything(coco_small):
    dataset = make(coco_small, test_mode=True)
    assert len(dataset) == 4 and dataset.img_ids == [1, 2, 3, 4]
    ann = dataset.get_ann_info(index_of(dataset, 'b.png'))
    assert ann['keypoints'].shape == (1, 17, 3) and (ann['keypoints'] == 0).all()
    assert dataset.get_ann_info(index_of(dataset, 'c.png'))['keypoints'].shape == (0, 17, 3)
    assert dataset.dropped_images == dict(no_person=0, too_small=0)


def test_load_summary_is_logged(coco_small, caplog):
    with caplog.at_level(logging.INFO):
        make(coco_small)
    text = caplog.text
    assert 'crowd=1' in text and 'zero_area_box=1' in text and 'too_few_keypoints=1' in text
    assert 'no_person=2' in text


def test_meta_from_json(coco_small):
    dataset = make(coco_small)
    assert dataset.num_keypoints == 17
    assert dataset.keypoint_names == COCO_KEYPOINT_NAMES
    assert (1, 2) in dataset.flip_pairs and (15, 16) in dataset.flip_pairs
    assert len(dataset.flip_pairs) == 8  # every keypoint but the nose
    assert dataset.skeleton[:2] == [(15, 13), (13, 11)]  # 1-based in the json
    np.testing.assert_allclose(dataset.sigmas, COCO_SIGMAS)
    results = {}
    dataset.pre_pipeline(results)
    assert results['keypoint_flip_pairs'] == dataset.flip_pairs


def test_fourteen_keypoints(crowdpose_small):
    dataset = make(crowdpose_small, dataset_info=crowdpose_small['dataset_info'])
    assert dataset.num_keypoints == 14 and dataset.keypoint_names == CROWDPOSE_NAMES
    assert dataset.flip_pairs == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)]
    assert dataset.skeleton == [(12, 13), (13, 0), (13, 1)]
    np.testing.assert_allclose(dataset.sigmas, CROWDPOSE_SIGMAS)
    ann = dataset.get_ann_info(0)
    assert ann['keypoints'].shape == (1, 14, 3)
    np.testing.assert_array_equal(ann['keypoints'][0, 12], [25.5, 8.5, 2])
    np.testing.assert_array_equal(ann['keypoints'][0, 10], [28.5, 42.5, 1])


def test_fourteen_keypoints_need_sigmas(crowdpose_small):
    info = dict(crowdpose_small['dataset_info'])
    del info['sigmas']
    with pytest.raises(ValueError, match='sigmas'):
        make(crowdpose_small, dataset_info=info)
    with pytest.raises(ValueError, match='no keypoint names'):
        make(crowdpose_small)  # the json has no names and there is no dataset_info


def test_dataset_info_must_match_annotations(coco_small):
    # 14 names against 17-keypoint annotations: the annotation is named
    info = dict(keypoint_names=list(CROWDPOSE_NAMES), sigmas=CROWDPOSE_SIGMAS)
    with pytest.raises(ValueError, match=r"id=1 \(image id=1\).*'keypoints'.*K=14"):
        make(coco_small, dataset_info=info)
    with pytest.raises(ValueError, match='unknown keys'):
        make(coco_small, dataset_info=dict(flip_index=[0]))


@pytest.mark.parametrize('field, value, message', [
    ('keypoints', [1, 2, 2] * 16 + [1, 2], 'not a multiple of 3'),
    ('keypoints', [1, 2, 2] * 16, '48 values = 16 keypoints'),
    ('keypoints', [1, 2, 2] * 16 + [1, 'x', 2], 'non-numeric'),
    ('keypoints', [1, 2, 2] * 16 + [1, None, 2], 'non-numeric'),
    ('keypoints', [1, 2, 3] * 17, 'visibility'),
    ('bbox', [1, 2, 3], 'must be 4 numbers'),
    ('bbox', [1, 2, 'w', 4], 'non-numeric'),
    ('bbox', 'abc', 'must be a list'),
    ('iscrowd', 'no', 'must be a number'),
])
def test_malformed_annotation_names_ids_and_field(tmp_path, field, value, message):
    good = person(11, 3, (10, 5, 30, 40), {0: (20, 10, 2)})
    bad = person(12, 5, (10, 5, 30, 40), {0: (20, 10, 2)})
    bad[field] = value
    ann_file, img_prefix = write_coco(tmp_path, [(3, 'a.png'), (5, 'b.png')], [good, bad], write_images=False)
    for test_mode in (False, True):
        with pytest.raises(ValueError) as err:
            CocoKeypointDataset(ann_file, [], img_prefix=img_prefix, test_mode=test_mode)
        text = str(err.value)
        assert 'id=12' in text and 'image id=5' in text and f"'{field}'" in text, text
        assert message in text, text


def test_missing_keypoints_field_and_duplicate_ids(tmp_path):
    ann = person(11, 3, (10, 5, 30, 40), {0: (20, 10, 2)})
    del ann['keypoints']
    ann_file, _ = write_coco(tmp_path, [(3, 'a.png')], [ann], write_images=False)
    with pytest.raises(ValueError, match=r"id=11 \(image id=3\).*'keypoints' is missing"):
        CocoKeypointDataset(ann_file, [])
    anns = [person(7, 3, (10, 5, 30, 40), {0: (20, 10, 2)}), person(7, 3, (12, 5, 30, 40), {0: (20, 10, 2)})]
    ann_file, _ = write_coco(tmp_path, [(3, 'a.png')], anns, write_images=False)
    with pytest.raises(ValueError, match=r'not unique: \[7\]'):
        CocoKeypointDataset(ann_file, [])


@pytest.fixture
def mmdet_log(caplog):
    """Capture the 'mmdet' root logger's records (it propagates to the root logger)."""
    caplog.set_level(logging.INFO)
    return caplog


@pytest.mark.parametrize('damage', ['delete', 'garbage'])
def test_unreadable_image_is_skipped_in_training(coco_small, mmdet_log, damage):
    dataset = make(coco_small, pipeline=TRAIN_PIPELINE)
    path = os.path.join(coco_small['img_prefix'], 'a.png')
    if damage == 'delete':
        os.remove(path)
    else:
        with open(path, 'wb') as f:
            f.write(b'this is not a png')
    mmdet_log.clear()
    data = dataset[index_of(dataset, 'a.png')]
    # another image (the only other one, d.png) came back instead
    assert data['img_metas'].data['ori_filename'] == 'd.png'
    assert dataset.skipped_files == {path}
    warnings = [r for r in mmdet_log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert path in message and 'Skipped files so far: 1' in message
    # a file is named once only
    dataset[index_of(dataset, 'a.png')]
    assert len([r for r in mmdet_log.records if r.levelno == logging.WARNING]) == 1
    assert dataset.skipped_files == {path}


def test_unreadable_image_is_an_error_in_test_mode(coco_small):
    pipeline = [dict(type='LoadImageFromFileSafe')]
    dataset = make(coco_small, pipeline=pipeline, test_mode=True)
    path = os.path.join(coco_small['img_prefix'], 'c.png')
    os.remove(path)
    with pytest.raises(ImageLoadError, match='c.png'):
        dataset[index_of(dataset, 'c.png')]


@pytest.mark.timeout(30)  # without the guard, mmdet's retry loop never ends
def test_all_images_unreadable_raises(coco_small):
    dataset = make(coco_small, pipeline=TRAIN_PIPELINE)
    for name in ('a.png', 'd.png'):
        os.remove(os.path.join(coco_small['img_prefix'], name))
    with pytest.raises(RuntimeError, match='none of the 2 image files'):
        dataset[0]


def test_pipeline_end_to_end(coco_small):
    cfg = dict(
        type='CocoKeypointDataset',
        ann_file=coco_small['ann_file'],
        img_prefix=coco_small['img_prefix'],
        pipeline=TRAIN_PIPELINE)
    dataset = build_dataset(cfg)
    assert isinstance(dataset, CocoKeypointDataset)
    idx = index_of(dataset, 'a.png')
    data = dataset[idx]
    assert set(data) == {'img', 'img_metas', 'gt_bboxes', 'gt_labels', 'gt_keypoints'}
    for value in data.values():
        assert isinstance(value, DataContainer)
    img = data['img'].data
    assert img.shape == (3, 128, 160)  # 60x80 -> 120x160 -> padded to 128x160
    keypoints = data['gt_keypoints'].data
    assert isinstance(keypoints, torch.Tensor) and keypoints.dtype == torch.float32
    assert keypoints.shape == (2, 17, 3)
    ann = dataset.get_ann_info(idx)
    expected = ann['keypoints'] * np.array([2, 2, 1], dtype=np.float32)
    np.testing.assert_allclose(keypoints.numpy(), expected)
    np.testing.assert_allclose(data['gt_bboxes'].data.numpy(), ann['bboxes'] * 2)
    meta = data['img_metas'].data
    assert meta['keypoint_flip_pairs'] == dataset.flip_pairs
    assert meta['flip'] is False


def test_annotation_json_written_by_hand_is_complete(tmp_path):
    """A minimal json (no area / iscrowd / num_keypoints) loads and gets what COCOeval needs."""
    ann = dict(id=1, image_id=1, category_id=1, bbox=[10, 5, 30, 40], keypoints=[20, 10, 2] + [0, 0, 0] * 16)
    ann_file, _ = write_coco(tmp_path, [(1, 'a.png')], [ann], write_images=False)
    dataset = CocoKeypointDataset(ann_file, [])
    gt = dataset.coco.anns[1]
    assert gt['iscrowd'] == 0 and gt['area'] == 1200 and gt['num_keypoints'] == 1
    with open(ann_file) as f:
        assert 'area' not in json.load(f)['annotations'][0]


def test_test_pipeline_carries_flip_pairs(coco_small):
    pipeline = [
        dict(type='LoadImageFromFileSafe'),
        dict(
            type='MultiScaleFlipAug',
            img_scale=(160, 120),
            flip=True,
            transforms=[
                dict(type='Resize', keep_ratio=True),
                dict(type='RandomFlip'),
                dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True),
                dict(type='Pad', size_divisor=32),
                dict(type='ImageToTensor', keys=['img']),
                dict(type='Collect', keys=['img'], meta_keys=KEYPOINT_META_KEYS),
            ]),
    ]
    dataset = make(coco_small, pipeline=pipeline, test_mode=True)
    data = dataset[index_of(dataset, 'c.png')]  # an image without persons is kept at test time
    metas = [meta.data for meta in data['img_metas']]
    assert [meta['flip'] for meta in metas] == [False, True]
    assert all(meta['keypoint_flip_pairs'] == dataset.flip_pairs for meta in metas)
    assert data['img'][0].shape == (3, 128, 160)
