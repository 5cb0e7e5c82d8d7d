"""CocoKeypointDataset parses all annotations at once: the same persons, boxes, keypoints, crowd
regions and drop counts as a plain loop over each image's annotations, on a random file with every
kind of case (crowds, empty and outside boxes, ignore flags, fields left out, other categories,
annotations in no particular order)."""
import json

import numpy as np
import pytest
from coco_kpt_data import person

from mmhrkpt.datasets import CocoKeypointDataset

K = 17
WIDTH, HEIGHT = 120, 90


def random_file(root, seed=0, num_images=12, num_anns=80):
    rng = np.random.RandomState(seed)
    images = [
        dict(id=int(100 + i), file_name=f'{i}.jpg', width=WIDTH, height=HEIGHT) for i in range(num_images)
    ]
    anns = []
    for ann_id in rng.permutation(num_anns) + 1:
        img = images[rng.randint(0, num_images - 2)]  # the last two images get no annotation
        x, y = rng.uniform(-30, WIDTH), rng.uniform(-30, HEIGHT)
        w, h = rng.choice([0.5, 5.0, 40.0, 40.0]), rng.choice([0.0, 3.0, 50.0, 50.0])
        share = rng.choice([0.0, 0.1, 0.7])  # of the keypoints labelled
        labelled = {
            k: (int(rng.randint(0, WIDTH)), int(rng.randint(0, HEIGHT)), int(rng.choice([1, 2])))
            for k in range(K) if rng.rand() < share
        }
        ann = person(int(ann_id), img['id'], (x, y, w, h), labelled, iscrowd=int(rng.rand() < 0.15))
        if rng.rand() < 0.1:
            ann['ignore'] = 1
        if rng.rand() < 0.1:
            ann['category_id'] = 2  # not a person: never read
        for field in ('area', 'num_keypoints'):
            if rng.rand() < 0.2:
                del ann[field]
        anns.append(ann)
    categories = [dict(id=1, name='person', keypoints=[f'k{k}' for k in range(K)]), dict(id=2, name='dog')]
    path = root / 'random.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=categories)))
    return str(path), images, anns


def reference(images, anns, test_mode, min_keypoints):
    """Each image's persons by a loop over its annotations, in the file's order."""
    counts = dict(crowd=0, zero_area_box=0, too_few_keypoints=0, ignore_flag=0)
    parsed = {}
    for img in images:
        boxes, crowds, keypoints = [], [], []
        for ann in (a for a in anns if a['image_id'] == img['id'] and a['category_id'] == 1):
            x, y, w, h = ann['bbox']
            if ann.get('ignore', False):
                counts['ignore_flag'] += 1
                continue
            inter_w = max(0, min(x + w, img['width']) - max(x, 0))
            inter_h = max(0, min(y + h, img['height']) - max(y, 0))
            if inter_w * inter_h == 0 or w < 1 or h < 1:
                counts['zero_area_box'] += 1
                continue
            if ann['iscrowd']:
                counts['crowd'] += 1
                crowds.append([x, y, x + w, y + h])
                continue
            kpts = np.array(ann['keypoints'], np.float64).reshape(K, 3)
            labelled = kpts[:, 2] > 0
            if not test_mode and labelled.sum() < min_keypoints:
                counts['too_few_keypoints'] += 1
                continue
            kpts[~labelled] = 0
            kpts[labelled, :2] += 0.5
            boxes.append([x, y, x + w, y + h])
            keypoints.append(kpts)
        parsed[img['id']] = dict(
            bboxes=np.array(boxes, np.float32).reshape(-1, 4),
            bboxes_ignore=np.array(crowds, np.float32).reshape(-1, 4),
            keypoints=np.array(keypoints, np.float32).reshape(-1, K, 3))
    return parsed, counts


@pytest.mark.parametrize('test_mode, min_keypoints', [(False, 1), (False, 4), (True, 1)])
def test_parsing_equals_a_loop_over_each_image(tmp_path, test_mode, min_keypoints):
    ann_file, images, anns = random_file(tmp_path)
    dataset = CocoKeypointDataset(
        ann_file, [], test_mode=test_mode, min_keypoints=min_keypoints, dataset_info=dict(sigmas=[0.05] * K))
    expected, counts = reference(images, anns, test_mode, min_keypoints)
    assert dataset.dropped_instances == counts
    assert min(counts.values()) > 0 or test_mode  # every case happens
    kept = [img['id'] for img in images if test_mode or len(expected[img['id']]['bboxes'])]
    assert [info['id'] for info in dataset.data_infos] == kept
    for idx, info in enumerate(dataset.data_infos):
        ann = dataset.get_ann_info(idx)
        for key, value in expected[info['id']].items():
            np.testing.assert_array_equal(ann[key], value, err_msg=f"{key} of image {info['id']}")
        assert ann['labels'].dtype == np.int64 and (ann['labels'] == 0).all()
        assert len(ann['labels']) == len(ann['bboxes'])
        assert not ann['bboxes'].flags.writeable  # shared by every call: read-only
    # what COCOeval needs was filled in where the file left it out
    for ann_id, ann in dataset.coco.anns.items():
        if ann['category_id'] == 1:
            assert {'area', 'iscrowd', 'num_keypoints'} <= set(ann), ann_id


def test_a_bad_annotation_deep_in_a_file_is_named(tmp_path):
    ann_file, images, anns = random_file(tmp_path, num_anns=300)
    bad = next(a for a in anns[200:] if a['category_id'] == 1)
    bad['keypoints'][7] = 'x'
    (tmp_path / 'random.json').write_text(
        json.dumps(
            dict(
                images=images,
                annotations=anns,
                categories=[
                    dict(id=1, name='person', keypoints=[f'k{k}' for k in range(K)]),
                    dict(id=2, name='dog')
                ])))
    with pytest.raises(
            ValueError,
            match=rf"id={bad['id']} \(image id={bad['image_id']}\).*"
            r"'keypoints' has a non-numeric"):
        CocoKeypointDataset(ann_file, [], dataset_info=dict(sigmas=[0.05] * K))
