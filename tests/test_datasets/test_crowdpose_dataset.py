"""CrowdPoseKeypointDataset: the official files' format (14 keypoints, COCO's 17-keypoint skeleton in
the category, crowdIndex per image) loads with one warning, and its evaluation equals xtcocotools'
'keypoints_crowd' run by hand on the same results."""
import contextlib
import io
import json
import logging

import numpy as np
import pytest
from coco_kpt_data import COCO_SKELETON_1BASED, CROWDPOSE_NAMES, flat_keypoints
from xtcocotools.coco import COCO as XTCOCO
from xtcocotools.cocoeval import COCOeval as XTCOCOeval

from mmhrkpt.datasets import CocoKeypointDataset, CrowdPoseKeypointDataset, resolve_keypoint_meta

K = 14
# crowdIndex of the images: two easy (< 0.2), one medium, one hard (>= 0.8)
CROWD_INDEX = {1: 0.05, 2: 0.1, 3: 0.5, 4: 0.9}
# COCO's full 1-based skeleton, as the official CrowdPose category carries it
COCO_SKELETON_FULL = COCO_SKELETON_1BASED + [[6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11],
                                             [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]


def write_crowdpose(root, images=None, skeleton=COCO_SKELETON_FULL):
    """A json as CrowdPose ships it: no 'area', 'num_keypoints' counting the visible (v = 2) joints,
    'crowdIndex' on every image, the category's names and COCO's skeleton."""
    rng = np.random.RandomState(5)
    images = images or [
        dict(id=i, file_name=f'{100 + i}.jpg', width=640, height=480, crowdIndex=c)
        for i, c in CROWD_INDEX.items()
    ]
    anns, ann_id = [], 0
    for img in images:
        for _ in range(1 + img['id'] % 3):
            ann_id += 1
            x, y = rng.randint(0, 300), rng.randint(0, 200)
            w, h = rng.randint(80, 300), rng.randint(120, 280)
            labelled = {
                k: (int(x + rng.randint(0, w)), int(y + rng.randint(0, h)), int(rng.choice([1, 2])))
                for k in range(K) if rng.rand() < 0.85
            }
            flat = flat_keypoints(K, labelled)
            anns.append(
                dict(
                    id=ann_id,
                    image_id=img['id'],
                    category_id=1,
                    bbox=[x, y, w, h],
                    iscrowd=0,
                    keypoints=flat,
                    num_keypoints=sum(1 for v in flat[2::3] if v == 2)))
    category = dict(
        id=1, name='person', supercategory='person', keypoints=list(CROWDPOSE_NAMES), skeleton=skeleton)
    path = root / 'crowdpose_val.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=[category])))
    return str(path), anns


@pytest.fixture
def crowdpose_official(tmp_path):
    return write_crowdpose(tmp_path)


def warnings_of(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_official_file_loads_with_one_warning(crowdpose_official, caplog):
    ann_file, anns = crowdpose_official
    with caplog.at_level(logging.WARNING):
        dataset = CrowdPoseKeypointDataset(ann_file, [], test_mode=True)
    (warning, ) = warnings_of(caplog)
    assert ann_file in warning and 'skeleton' in warning
    meta = resolve_keypoint_meta('mmpose::crowdpose')
    assert dataset.num_keypoints == K and dataset.keypoint_names == meta['keypoint_names']
    assert dataset.skeleton == meta['skeleton'] and dataset.flip_pairs == meta['flip_pairs']
    np.testing.assert_array_equal(dataset.sigmas, meta['sigmas'])
    np.testing.assert_array_equal(dataset.joint_weights, meta['joint_weights'])
    assert len(dataset) == 4
    assert sum(len(dataset.get_ann_info(i)['bboxes']) for i in range(4)) == len(anns)


def test_official_file_with_the_short_form_loads_without_a_skeleton(crowdpose_official, caplog):
    """Today's short form with the category's names: the skeleton that does not fit is dropped."""
    ann_file, _ = crowdpose_official
    sigmas = resolve_keypoint_meta('mmpose::crowdpose')['sigmas']
    with caplog.at_level(logging.WARNING):
        dataset = CocoKeypointDataset(ann_file, [], dataset_info=dict(sigmas=sigmas.tolist()), test_mode=True)
    (warning, ) = warnings_of(caplog)
    assert ann_file in warning and 'no skeleton is drawn' in warning
    assert dataset.keypoint_names == CROWDPOSE_NAMES and dataset.skeleton == []
    assert dataset.flip_pairs == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)]


def test_a_fitting_skeleton_gives_no_warning(tmp_path, caplog):
    ann_file, _ = write_crowdpose(tmp_path, skeleton=[[13, 14], [14, 1], [14, 2]])
    with caplog.at_level(logging.WARNING):
        CrowdPoseKeypointDataset(ann_file, [], test_mode=True)
    assert not warnings_of(caplog)


def test_missing_crowd_index_is_named(tmp_path):
    images = [
        dict(id=1, file_name='1.jpg', width=640, height=480, crowdIndex=0.1),
        dict(id=2, file_name='2.jpg', width=640, height=480)
    ]
    ann_file, _ = write_crowdpose(tmp_path, images=images)
    with pytest.raises(ValueError, match=r"image id=2 .*'crowdIndex'"):
        CrowdPoseKeypointDataset(ann_file, [], test_mode=True)


def predictions(dataset, anns, rng):
    """Per image (bbox_results, keypoint_results): each person found with pixel noise, plus a false
    positive."""
    results = []
    for img_id in dataset.img_ids:
        bboxes, keypoints = [], []
        for a in (a for a in anns if a['image_id'] == img_id):
            x, y, w, h = a['bbox']
            bboxes.append([x, y, x + w, y + h, rng.uniform(0.3, 1.0)])
            kpt = np.array(a['keypoints'], np.float64).reshape(K, 3)
            xy = kpt[:, :2] + 0.5 + rng.normal(0, rng.choice([2.0, 12.0]), (K, 2))
            keypoints.append(np.concatenate([xy, rng.uniform(0, 1, (K, 1))], 1))
        bboxes.append([400, 20, 600, 220, 0.4])
        keypoints.append(
            np.concatenate([rng.uniform(400, 600, (K, 1)),
                            rng.uniform(20, 220, (K, 1)),
                            np.ones((K, 1))], 1))
        results.append(([np.array(bboxes, np.float32)], [np.array(keypoints, np.float32)]))
    return results


def xtcocotools_by_hand(ann_file, keypoints_file, sigmas):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = XTCOCO(ann_file)
        det = gt.loadRes(keypoints_file)
        coco_eval = XTCOCOeval(gt, det, 'keypoints_crowd', sigmas, use_area=False)
        coco_eval.params.useSegm = None
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return coco_eval.stats


def test_evaluation_equals_xtcocotools(crowdpose_official, tmp_path):
    ann_file, anns = crowdpose_official
    dataset = CrowdPoseKeypointDataset(ann_file, [], test_mode=True)
    results = predictions(dataset, anns, np.random.RandomState(0))
    prefix = str(tmp_path / 'res')
    metrics = dataset.evaluate(results, metric=['bbox', 'keypoints'], jsonfile_prefix=prefix)
    stats = xtcocotools_by_hand(ann_file, prefix + '.keypoints.json', dataset.sigmas)
    names = ['AP', 'AP50', 'AP75', 'AR', 'AR50', 'AR75', 'AP_easy', 'AP_medium', 'AP_hard']
    for name, value in zip(names, stats):
        assert metrics[f'keypoints_{name}'] == pytest.approx(round(value, 4), abs=1e-9), name
    assert 0.2 < metrics['keypoints_AP'] < 0.9  # the noise and the false positives count
    assert len({metrics[f'keypoints_AP_{t}'] for t in ('easy', 'medium', 'hard')}) > 1
    assert 0 <= metrics['bbox_mAP'] <= 1


def test_evaluation_of_nothing_is_zero(crowdpose_official):
    ann_file, _ = crowdpose_official
    dataset = CrowdPoseKeypointDataset(ann_file, [], test_mode=True)
    empty = [([np.zeros((0, 5), np.float32)], [np.zeros((0, K, 3), np.float32)])] * len(dataset)
    metrics = dataset.evaluate(empty, metric='keypoints')
    assert all(value == 0.0 for value in metrics.values()), metrics
