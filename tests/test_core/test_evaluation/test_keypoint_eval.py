"""CocoKeypointDataset.format_results / evaluate against pycocotools run by hand."""
import contextlib
import copy
import io
import json

import numpy as np
import pytest
from coco_kpt_data import person, write_coco
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmhrkpt.core.evaluation import KeypointCOCO
from mmhrkpt.datasets import CocoKeypointDataset

KEYPOINT_KEYS = ('keypoints_AP', 'keypoints_AP50', 'keypoints_AP75', 'keypoints_APm', 'keypoints_APl',
                 'keypoints_AR')


@pytest.fixture
def eval_data(tmp_path):
    """Three 640x480 images with 5 persons of medium and large size, K = 17."""
    rng = np.random.RandomState(1)
    anns, ann_id = [], 0
    boxes = {
        1: [(50, 40, 120, 300), (300, 60, 200, 380)],
        2: [(100, 100, 60, 150)],
        3: [(20, 30, 250, 400), (400, 200, 90, 200)]
    }
    for img_id, img_boxes in boxes.items():
        for x, y, w, h in img_boxes:
            ann_id += 1
            labelled = {
                k: (int(x + rng.randint(0, w)), int(y + rng.randint(0, h)), int(rng.choice([1, 2])))
                for k in range(17) if rng.rand() < 0.8
            }
            anns.append(person(ann_id, img_id, (x, y, w, h), labelled))
    anns.append(person(99, 3, (0, 0, 30, 30), {}, iscrowd=1))
    images = [(i, f'{i}.png', 640, 480) for i in boxes]
    ann_file, img_prefix = write_coco(tmp_path, images, anns, write_images=False)
    return ann_file, img_prefix, anns


def predictions(dataset, anns, noise, rng, fp_score=0.5):
    """(bbox_results, keypoint_results) per image from the ground truth, in the continuous frame,
    with Gaussian noise of ``noise`` pixels on every keypoint and one false positive per image
    scored ``fp_score``."""
    results = []
    for img_id in dataset.img_ids:
        persons = [a for a in anns if a['image_id'] == img_id and not a['iscrowd']]
        bboxes, keypoints = [], []
        for a in persons:
            x, y, w, h = a['bbox']
            bboxes.append([x, y, x + w, y + h, rng.uniform(0.3, 1.0)])
            kpt = np.array(a['keypoints'], np.float64).reshape(17, 3)
            xy = kpt[:, :2] + 0.5 + rng.normal(0, noise, (17, 2))
            keypoints.append(np.concatenate([xy, rng.uniform(0, 1, (17, 1))], 1))
        # a false positive: a large box (area 40000) around keypoints of medium extent (< 3600),
        # so APm / APl tell whether a detection's area is its keypoints' extent (COCO's keypoint
        # format) or its box
        bboxes.append([400, 20, 600, 220, fp_score])
        keypoints.append(
            np.concatenate([rng.uniform(500, 560, (17, 1)),
                            rng.uniform(20, 80, (17, 1)),
                            np.ones((17, 1))], 1))
        results.append(([np.array(bboxes, np.float32)], [np.array(keypoints, np.float32)]))
    return results


def oracle(ann_file, results, img_ids, iou_type, sigmas=None):
    """pycocotools on results written by hand in COCO's format (pixel indices: x - 0.5)."""
    dets = []
    for img_id, (bbox_result, kpt_result) in zip(img_ids, results):
        for box, kpt in zip(bbox_result[0], kpt_result[0]):
            if iou_type == 'bbox':
                dets.append(
                    dict(
                        image_id=img_id,
                        category_id=1,
                        score=float(box[4]),
                        bbox=[float(box[0]),
                              float(box[1]),
                              float(box[2] - box[0]),
                              float(box[3] - box[1])]))
            else:
                flat = []
                for x, y, s in kpt:
                    flat += [float(x) - 0.5, float(y) - 0.5, float(s)]
                dets.append(dict(image_id=img_id, category_id=1, keypoints=flat, score=float(box[4])))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        coco_eval = COCOeval(gt, gt.loadRes(dets), iou_type)
        if sigmas is not None:
            coco_eval.params.kpt_oks_sigmas = np.asarray(sigmas)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return coco_eval.stats


def make_test_dataset(ann_file, img_prefix, **kwargs):
    return CocoKeypointDataset(ann_file, [], img_prefix=img_prefix, test_mode=True, **kwargs)


@pytest.mark.parametrize('noise', [4.0, 12.0])
def test_evaluate_matches_pycocotools(eval_data, noise):
    ann_file, img_prefix, anns = eval_data
    dataset = make_test_dataset(ann_file, img_prefix)
    results = predictions(dataset, anns, noise, np.random.RandomState(2))
    metrics = dataset.evaluate(results, metric=['bbox', 'keypoints'])

    kpt_stats = oracle(ann_file, results, dataset.img_ids, 'keypoints')
    for i, key in enumerate(KEYPOINT_KEYS):
        assert metrics[key] == pytest.approx(round(kpt_stats[i], 4), abs=1e-9), key
    assert 0 < metrics['keypoints_AP'] < 1
    box_stats = oracle(ann_file, results, dataset.img_ids, 'bbox')
    assert metrics['bbox_mAP'] == pytest.approx(round(box_stats[0], 4), abs=1e-9)
    assert metrics['bbox_mAP_50'] == pytest.approx(round(box_stats[1], 4), abs=1e-9)


def test_exact_keypoints_score_one(eval_data):
    """Ground truth fed back in the continuous frame scores AP 1 (the +-0.5 shifts cancel)."""
    ann_file, img_prefix, anns = eval_data
    dataset = make_test_dataset(ann_file, img_prefix)
    # the false positives score below every true one
    results = predictions(dataset, anns, 0.0, np.random.RandomState(0), fp_score=0.1)
    metrics = dataset.evaluate(results, metric='keypoints')
    assert set(metrics) == set(KEYPOINT_KEYS)
    assert metrics['keypoints_AP'] == 1.0 and metrics['keypoints_AP75'] == 1.0


def test_fourteen_keypoints_use_the_dataset_sigmas(tmp_path):
    sigmas = np.linspace(0.03, 0.1, 14)
    names = [f'left_{i}' for i in range(7)] + [f'right_{i}' for i in range(7)]
    rng = np.random.RandomState(4)
    anns = [
        person(
            i + 1,
            1, (40 + 100 * i, 50, 90, 200),
            {k: (int(45 + 100 * i + rng.randint(0, 80)), int(rng.randint(55, 240)), 2)
             for k in range(14)},
            num_keypoints=14) for i in range(4)
    ]
    ann_file, img_prefix = write_coco(
        tmp_path, [(1, '1.png', 640, 480)], anns, keypoint_names=names, write_images=False)
    dataset = make_test_dataset(ann_file, img_prefix, dataset_info=dict(sigmas=sigmas.tolist()))
    assert dataset.flip_pairs == [(i, i + 7) for i in range(7)]
    bboxes, kpts = [], []
    for a in anns:
        x, y, w, h = a['bbox']
        bboxes.append([x, y, x + w, y + h, rng.uniform(0.5, 1)])
        k = np.array(a['keypoints'], np.float64).reshape(14, 3)
        kpts.append(np.concatenate([k[:, :2] + 0.5 + rng.normal(0, 8, (14, 2)), np.ones((14, 1))], 1))
    results = [([np.array(bboxes, np.float32)], [np.array(kpts, np.float32)])]
    metrics = dataset.evaluate(results, metric=['keypoints'])
    stats = oracle(ann_file, results, dataset.img_ids, 'keypoints', sigmas=sigmas)
    assert metrics['keypoints_AP'] == pytest.approx(round(stats[0], 4), abs=1e-9)
    assert 0 < metrics['keypoints_AP'] < 1
    # the sigmas matter: other ones give another AP
    other = oracle(ann_file, results, dataset.img_ids, 'keypoints', sigmas=sigmas * 2)
    assert other[0] != pytest.approx(stats[0], abs=1e-3)


def test_format_results_files(eval_data, tmp_path):
    ann_file, img_prefix, anns = eval_data
    dataset = make_test_dataset(ann_file, img_prefix)
    results = predictions(dataset, anns, 2.0, np.random.RandomState(5))
    prefix = str(tmp_path / 'out' / 'res')
    (tmp_path / 'out').mkdir()
    result_files, tmp_dir = dataset.format_results(results, prefix)
    assert tmp_dir is None
    assert result_files == dict(bbox=prefix + '.bbox.json', keypoints=prefix + '.keypoints.json')
    with open(result_files['keypoints']) as f:
        kpt_json = json.load(f)
    with open(result_files['bbox']) as f:
        box_json = json.load(f)
    num_dets = sum(len(r[0][0]) for r in results)
    assert len(kpt_json) == len(box_json) == num_dets

    first_boxes, first_kpts = results[0][0][0], results[0][1][0]
    entry = kpt_json[0]
    assert set(entry) == {'image_id', 'category_id', 'keypoints', 'score', 'bbox'}
    assert entry['image_id'] == dataset.img_ids[0] and entry['category_id'] == 1
    assert len(entry['keypoints']) == 3 * 17
    expected = first_kpts[0].astype(np.float64)
    expected[:, :2] -= 0.5  # back to COCO pixel indices
    np.testing.assert_allclose(np.reshape(entry['keypoints'], (17, 3)), expected, rtol=1e-6)
    # the instance score is the (rescored) box score, not a keypoint score
    assert entry['score'] == pytest.approx(float(first_boxes[0, 4]))
    x1, y1, x2, y2 = first_boxes[0, :4]
    np.testing.assert_allclose(entry['bbox'], [x1, y1, x2 - x1, y2 - y1], rtol=1e-6)
    assert box_json[0]['bbox'] == pytest.approx(entry['bbox'])
    assert box_json[0]['score'] == pytest.approx(entry['score'])

    _, tmp_dir = dataset.format_results(results)
    assert tmp_dir is not None
    tmp_dir.cleanup()


def test_zero_detections_give_zeros(eval_data, tmp_path):
    ann_file, img_prefix, _ = eval_data
    dataset = make_test_dataset(ann_file, img_prefix)
    empty = [([np.zeros((0, 5), np.float32)], [np.zeros((0, 17, 3), np.float32)])
             for _ in range(len(dataset))]
    metrics = dataset.evaluate(empty, jsonfile_prefix=str(tmp_path / 'empty'))
    for key in KEYPOINT_KEYS + ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_m', 'bbox_mAP_l'):
        assert metrics[key] == 0.0, key
    with open(str(tmp_path / 'empty.keypoints.json')) as f:
        assert json.load(f) == []


def test_evaluate_rejects_bad_input(eval_data):
    ann_file, img_prefix, anns = eval_data
    dataset = make_test_dataset(ann_file, img_prefix)
    results = predictions(dataset, anns, 1.0, np.random.RandomState(0))
    with pytest.raises(KeyError, match='segm'):
        dataset.evaluate(results, metric='segm')
    bad = [(b, [k[0][:, :5]]) for b, k in results]  # 5 keypoints instead of 17
    with pytest.raises(ValueError, match='K=17'):
        dataset.evaluate(bad, metric='keypoints')


def test_keypoint_results_load_as_pycocotools_loads_them(eval_data):
    """KeypointCOCO.loadRes computes every result's bbox and area at once; pycocotools, one by
    one, gives the same."""
    ann_file, _, _ = eval_data
    rng = np.random.RandomState(3)
    dets = [
        dict(
            image_id=int(rng.randint(1, 4)),
            category_id=1,
            score=float(rng.rand()),
            keypoints=np.concatenate([rng.uniform(0, 600,
                                                  (17, 2)), rng.rand(17, 1)], 1).reshape(-1).tolist())
        for _ in range(30)
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        ours = KeypointCOCO(ann_file).loadRes(copy.deepcopy(dets))
        ref = COCO(ann_file).loadRes(copy.deepcopy(dets))
    assert sorted(ours.anns) == sorted(ref.anns) == list(range(1, 31))
    for ann_id, expected in ref.anns.items():
        got = ours.anns[ann_id]
        assert got['area'] == pytest.approx(expected['area'], rel=1e-12)
        np.testing.assert_allclose(got['bbox'], expected['bbox'], rtol=1e-12)
        assert got['image_id'] == expected['image_id'] and got['score'] == expected['score']
    assert ours.getImgIds() == ref.getImgIds()
    with pytest.raises(AssertionError, match='do not correspond'):
        KeypointCOCO(ann_file).loadRes([dict(dets[0], image_id=999)])


def test_keypoints_evaluate_in_memory_or_from_the_file_alike(eval_data, tmp_path):
    ann_file, img_prefix, anns = eval_data
    dataset = make_test_dataset(ann_file, img_prefix)
    results = predictions(dataset, anns, 6.0, np.random.RandomState(7))
    in_memory = dataset.evaluate(results, metric='keypoints')
    prefix = str(tmp_path / 'kept')
    from_file = dataset.evaluate(results, metric='keypoints', jsonfile_prefix=prefix)
    assert in_memory == from_file == dataset.evaluate_keypoints(prefix + '.keypoints.json')
