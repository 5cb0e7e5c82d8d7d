"""tools/dataset_converters on tiny hand-made inputs in each dataset's own format: MPII's .mat
(written with scipy.io.savemat in MPII's struct layout) and AI Challenger's json; the COCO json they
write loads in CocoKeypointDataset with mmpose's meta of the dataset."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from mmhrkpt.datasets import CocoKeypointDataset, resolve_keypoint_meta

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / 'tools' / 'dataset_converters'


def run_tool(name, *args):
    proc = subprocess.run([sys.executable, str(TOOLS / name), *map(str, args)],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    return proc


def struct_array(records):
    """A 1 x n MATLAB struct array of dicts sharing their fields."""
    fields = list(records[0])
    arr = np.zeros((1, len(records)), dtype=[(f, object) for f in fields])
    for i, record in enumerate(records):
        for field in fields:
            arr[0, i][field] = record[field]
    return arr


def write_image(folder, name, size):
    folder.mkdir(parents=True, exist_ok=True)
    Image.new('RGB', size).save(folder / name)


# ---------------------------------------------------------------------------------------- MPII
def mpii_point(joint_id, x, y, visible):
    return dict(id=joint_id, x=float(x), y=float(y), is_visible=visible)


@pytest.fixture
def mpii(tmp_path):
    """Three images: a training image with two persons (one without joints), a training image whose
    only person has no joints, a test image. Coordinates are MATLAB's (1-based)."""
    img_dir = tmp_path / 'images'
    write_image(img_dir, 'a.jpg', (200, 150))
    write_image(img_dir, 'b.jpg', (100, 100))
    person = dict(
        x1=41.0,
        y1=11.0,
        x2=61.0,
        y2=31.0,
        scale=1.2,
        objpos=dict(x=50.0, y=60.0),
        annopoints=dict(
            point=struct_array([
                mpii_point(0, 31, 121, 1),  # right ankle
                mpii_point(9, 51, 21, 1),  # head top
                mpii_point(15, 81, 71, 0),  # left wrist, occluded
            ])))
    unannotated = dict(
        x1=1.0, y1=1.0, x2=5.0, y2=5.0, scale=1.0, objpos=dict(x=3.0, y=3.0), annopoints=np.zeros((0, 0)))
    annolist = struct_array([
        dict(image=dict(name='a.jpg'), annorect=struct_array([person, unannotated])),
        dict(image=dict(name='b.jpg'), annorect=struct_array([unannotated])),
        dict(image=dict(name='c.jpg'), annorect=struct_array([person])),
    ])
    mat = tmp_path / 'mpii_human_pose_v1_u12_1.mat'
    savemat(str(mat), dict(RELEASE=dict(annolist=annolist, img_train=np.array([[1, 1, 0]]))))
    return mat, img_dir


def test_mpii_mat_to_coco(mpii, tmp_path):
    mat, img_dir = mpii
    out = tmp_path / 'mpii_coco.json'
    proc = run_tool('mpii2coco.py', mat, img_dir, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    coco = json.loads(out.read_text())
    assert coco['images'] == [dict(id=1, file_name='a.jpg', width=200, height=150)]
    (ann, ) = coco['annotations']
    kpts = np.array(ann['keypoints']).reshape(16, 3)
    np.testing.assert_array_equal(kpts[0], [30, 120, 2])  # 1-based -> 0-based, visible
    np.testing.assert_array_equal(kpts[9], [50, 20, 2])
    np.testing.assert_array_equal(kpts[15], [80, 70, 1])  # is_visible = 0: occluded
    assert (kpts[[1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14]] == 0).all()
    assert ann['num_keypoints'] == 3 and ann['iscrowd'] == 0
    # box: joints and head box (x 30..80, y 10..120) grown by 10 % per side, clipped to the image
    np.testing.assert_allclose(ann['bbox'], [25, 0, 60, 131])
    meta = resolve_keypoint_meta('mmpose::mpii')
    assert coco['categories'][0]['keypoints'] == list(meta['keypoint_names'])

    dataset = CocoKeypointDataset(str(out), [], dataset_info='mmpose::mpii', test_mode=True)
    assert dataset.num_keypoints == 16 and dataset.skeleton == meta['skeleton']
    np.testing.assert_array_equal(dataset.get_ann_info(0)['keypoints'][0, 15], [80.5, 70.5, 1])

    everything = tmp_path / 'all.json'
    assert run_tool('mpii2coco.py', mat, img_dir, everything, '--split', 'all').returncode != 0
    write_image(img_dir, 'c.jpg', (64, 200))  # the test image's size is needed too
    assert run_tool('mpii2coco.py', mat, img_dir, everything, '--split', 'all').returncode == 0
    assert [img['file_name'] for img in json.loads(everything.read_text())['images']] == ['a.jpg', 'c.jpg']


def test_mpii_missing_image_is_named(mpii, tmp_path):
    mat, img_dir = mpii
    (img_dir / 'a.jpg').unlink()
    proc = run_tool('mpii2coco.py', mat, img_dir, tmp_path / 'out.json')
    assert proc.returncode != 0 and 'a.jpg' in proc.stderr


# --------------------------------------------------------------------------------- AI Challenger
@pytest.fixture
def aic(tmp_path):
    img_dir = tmp_path / 'images'
    write_image(img_dir, '0a1b.jpg', (320, 240))
    write_image(img_dir, 'ffe2.jpg', (100, 80))
    k1 = [0, 0, 3] * 14
    k1[0:3] = [100, 50, 1]  # right shoulder, visible
    k1[36:39] = [110, 20, 2]  # head top, occluded
    k1[39:42] = [105, 40, 1]  # neck
    k2 = [10, 10, 1] * 14
    entries = [
        dict(
            url='http://x/0a1b.jpg',
            image_id='0a1b',
            keypoint_annotations=dict(human1=k1, human2=k2),
            human_annotations=dict(human1=[80, 10, 160, 200], human2=[5, 5, 60, 70])),
        dict(
            url='http://x/ffe2.jpg',
            image_id='ffe2',
            keypoint_annotations=dict(human1=k2),
            human_annotations=dict(human1=[1, 2, 51, 72])),
    ]
    ann_file = tmp_path / 'keypoint_validation_annotations.json'
    ann_file.write_text(json.dumps(entries))
    return ann_file, img_dir, entries


def test_aic_json_to_coco(aic, tmp_path):
    ann_file, img_dir, _ = aic
    out = tmp_path / 'aic_coco.json'
    proc = run_tool('aic2coco.py', ann_file, img_dir, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    coco = json.loads(out.read_text())
    assert [(i['id'], i['file_name'], i['width'], i['height'])
            for i in coco['images']] == [(1, '0a1b.jpg', 320, 240), (2, 'ffe2.jpg', 100, 80)]
    first, second, third = coco['annotations']
    assert [a['image_id'] for a in (first, second, third)] == [1, 1, 2]
    assert first['bbox'] == [80, 10, 80, 190] and first['area'] == 80 * 190
    kpts = np.array(first['keypoints']).reshape(14, 3)
    np.testing.assert_array_equal(kpts[0], [100, 50, 2])  # visible -> 2
    np.testing.assert_array_equal(kpts[12], [110, 20, 1])  # occluded -> 1
    assert (kpts[1:12] == 0).all() and first['num_keypoints'] == 3  # not labelled -> 0, 0, 0
    assert second['num_keypoints'] == 14 and third['bbox'] == [1, 2, 50, 70]

    dataset = CocoKeypointDataset(str(out), [], dataset_info='mmpose::aic', test_mode=True)
    assert dataset.num_keypoints == 14 and len(dataset) == 2
    np.testing.assert_array_equal(dataset.get_ann_info(0)['keypoints'][0, 13], [105.5, 40.5, 2])


def test_aic_bad_visibility_is_named(aic, tmp_path):
    ann_file, img_dir, entries = aic
    entries[1]['keypoint_annotations']['human1'] = [10, 10, 4] * 14
    ann_file.write_text(json.dumps(entries))
    proc = run_tool('aic2coco.py', ann_file, img_dir, tmp_path / 'out.json')
    assert proc.returncode != 0
    assert "'ffe2'" in proc.stderr and 'visibility' in proc.stderr
