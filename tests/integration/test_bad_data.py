"""Training on a broken copy of generated data runs through, and the log counts every dropped
instance and names every skipped image file, once (over 2 epochs, with a data loader worker, whose
record of skipped files train_detector shares with the training process)."""
import json
import os
import shutil

import cv2
import pytest
from reliability_utils import describe, log_text, make_data, train, write_config

from mmhrkpt.datasets import CocoKeypointDataset


def _person(ann_id, image_id, bbox, keypoints, iscrowd=0):
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=1,
        bbox=list(bbox),
        iscrowd=iscrowd,
        area=float(max(bbox[2], 0) * max(bbox[3], 0)),
        keypoints=keypoints,
        num_keypoints=sum(v > 0 for v in keypoints[2::3]))


def _keypoints(points):
    """17 keypoints, those of ``points`` ({k: (x, y)}) labelled visible."""
    flat = [0] * 51
    for k, (x, y) in points.items():
        flat[3 * k:3 * k + 3] = [x, y, 2]
    return flat


def _break(out):
    """Damage a copy of the generated train split. Returns what was done, by kind."""
    ann_file, prefix = out['train']['ann_file'], out['train']['img_prefix']
    coco = json.load(open(ann_file))
    images = {img['id']: img for img in coco['images']}
    width, height = images[1]['width'], images[1]['height']
    next_ann = max(a['id'] for a in coco['annotations']) + 1

    def add(image_id, bbox, keypoints, iscrowd=0):
        nonlocal next_ann
        coco['annotations'].append(_person(next_ann, image_id, bbox, keypoints, iscrowd))
        next_ann += 1

    missing = f"{prefix}/{images[1]['file_name']}"
    os.remove(missing)
    truncated_jpg = f"{prefix}/{images[2]['file_name']}"
    data = open(truncated_jpg, 'rb').read()
    open(truncated_jpg, 'wb').write(data[:len(data) // 2])
    # a PNG cut in half, with a person
    truncated_png = f'{prefix}/half_written.png'
    ok, png = cv2.imencode('.png', cv2.imread(f"{prefix}/{images[3]['file_name']}"))
    open(truncated_png, 'wb').write(png.tobytes()[:len(png) // 2])
    coco['images'].append(dict(id=101, file_name='half_written.png', width=width, height=height))
    add(101, (10, 10, 30, 50), _keypoints({0: (20, 15), 5: (25, 30)}))
    # an image without any annotation
    shutil.copy(f"{prefix}/{images[3]['file_name']}", f'{prefix}/no_annotation.jpg')
    coco['images'].append(dict(id=102, file_name='no_annotation.jpg', width=width, height=height))
    # broken persons on the intact images 3 and 4
    add(3, (20, 20, 0, 30), _keypoints({0: (20, 25)}))  # zero-area box
    add(3, (40, 20, -8, 30), _keypoints({0: (38, 25)}))  # negative width
    add(3, (5, 5, 20, 40), [0] * 51)  # no labelled keypoint: kept as a box (min_keypoints=0)
    add(4, (0, 0, width, height), [0] * 51, iscrowd=1)  # a crowd region
    add(4, (30, 10, 40, 60), _keypoints({
        0: (-15, 20),
        1: (width + 30, 25),
        5: (50, height + 9),
        6: (45, 40)
    }))  # keypoints off the image
    add(4, (60, 60, 2, 3), _keypoints({0: (61, 61)}))  # a tiny person
    json.dump(coco, open(ann_file, 'w'))
    return dict(
        missing=missing,
        truncated_jpg=truncated_jpg,
        truncated_png=truncated_png,
        dropped=dict(zero_area_box=2, crowd=1, no_person=1))


def _counts(ann_file, prefix):
    # min_keypoints as the configs set it: persons without keypoints still train the box branch
    ds = CocoKeypointDataset(ann_file, [], img_prefix=prefix, min_keypoints=0)
    return dict(ds.dropped_instances, **ds.dropped_images)


@pytest.fixture(scope='module')
def broken_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('bad_data')
    out, options = make_data(root / 'data', num_train=4)
    before = _counts(out['train']['ann_file'], out['train']['img_prefix'])
    broken = _break(out)
    after = _counts(out['train']['ann_file'], out['train']['img_prefix'])
    config = write_config(root / 'tiny.py', max_epochs=2)
    proc = train(config, root / 'work', options + ['data.workers_per_gpu=1'], '--seed', '0', '--no-validate')
    return dict(proc=proc, log=log_text(root / 'work'), before=before, after=after, **broken)


def test_training_runs_through(broken_run):
    assert broken_run['proc'].returncode == 0, describe(broken_run['proc'])
    assert 'Epoch [2][' in broken_run['log']


def test_dropped_instances_and_images_are_counted_at_load(broken_run):
    expected = {k: broken_run['before'][k] + broken_run['dropped'].get(k, 0) for k in broken_run['before']}
    assert broken_run['after'] == expected
    summary = [
        line for line in broken_run['log'].splitlines()
        if 'CocoKeypointDataset (train)' in line and 'dropped instances' in line
    ]
    assert len(summary) == 1
    for key, value in expected.items():
        assert f'{key}={value}' in summary[0], (key, summary[0])


def _named(log, path):
    return [line for line in log.splitlines() if f"skipping image '{path}'" in line]


@pytest.mark.parametrize('kind', ['missing', 'truncated_png'])
def test_each_unreadable_file_is_named_once(broken_run, kind):
    assert len(_named(broken_run['log'], broken_run[kind])) == 1, broken_run['log'][-3000:]


def test_skipped_files_are_counted(broken_run):
    named = {
        line.split("skipping image '")[1].split("'")[0]
        for line in broken_run['log'].splitlines() if 'skipping image' in line
    }
    assert {broken_run['missing'], broken_run['truncated_png']} <= named
    assert {broken_run['truncated_jpg']} <= named
    assert f'image files skipped in training so far: {len(named)}' in broken_run['log']


def test_truncated_jpeg_is_named_once(broken_run):
    assert len(_named(broken_run['log'], broken_run['truncated_jpg'])) == 1
