"""The synthetic COCO-keypoints generator: determinism, COCO validity, labels, the CLI, and that
``import mmhrkpt`` leaves it out."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from mmhrkpt.datasets import COCO_KEYPOINT_NAMES, COCO_SKELETON
from mmhrkpt.testing.synthetic import LEFT_HUES, RIGHT_HUES, generate_synthetic_coco, synthesize_image
from mmhrkpt.testing.synthetic.figure import L_ELBOW, R_ELBOW

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def files_of(root):
    """{relative path: bytes} of every file under ``root``."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def load(ann_file):
    with open(ann_file) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def sample(tmp_path_factory):
    """A moderate sample (40 train images) for statistics over labels."""
    root = str(tmp_path_factory.mktemp('synthetic'))
    out = generate_synthetic_coco(root, 40, 0, seed=3, progress=False, preview=False)
    return out, load(out['train']['ann_file'])


def test_deterministic(tmp_path):
    kwargs = dict(num_train=4, num_val=2, progress=False)
    out_a = generate_synthetic_coco(str(tmp_path / 'a'), seed=7, **kwargs)
    generate_synthetic_coco(str(tmp_path / 'b'), seed=7, **kwargs)
    generate_synthetic_coco(str(tmp_path / 'c'), seed=8, **kwargs)
    files_a, files_b, files_c = (files_of(str(tmp_path / n)) for n in 'abc')
    assert len(files_a) == 4 + 2 + 2 + 1  # images, two json, preview
    assert osp.isfile(out_a['preview'])
    assert files_a == files_b
    assert set(files_a) == set(files_c)
    json_name = osp.join('annotations', 'person_keypoints_train.json')
    assert files_a[json_name] != files_c[json_name]
    images = [name for name in files_a if name.startswith('images')]
    assert all(files_a[name] != files_c[name] for name in images)


def test_image_does_not_depend_on_split_size(tmp_path):
    generate_synthetic_coco(str(tmp_path / 'a'), 1, 0, progress=False, preview=False)
    generate_synthetic_coco(str(tmp_path / 'b'), 3, 0, progress=False, preview=False)
    name = osp.join('images', 'train', '000000000001.jpg')
    assert files_of(str(tmp_path / 'a'))[name] == files_of(str(tmp_path / 'b'))[name]


def test_pycocotools_loads(tmp_path):
    out = generate_synthetic_coco(
        str(tmp_path), 4, 2, image_size=(96, 128), img_ext='.png', progress=False, preview=False)
    for split, num in (('train', 4), ('val', 2)):
        coco = COCO(out[split]['ann_file'])
        assert coco.getCatIds() == [1]
        category = coco.loadCats(1)[0]
        assert category['keypoints'] == list(COCO_KEYPOINT_NAMES)
        assert category['skeleton'] == [[i + 1, j + 1] for i, j in COCO_SKELETON]  # 1-based
        assert len(coco.getImgIds()) == num == out[split]['num_images']
        assert len(coco.getAnnIds()) == out[split]['num_persons'] > 0
        for info in coco.loadImgs(coco.getImgIds()):
            image = cv2.imread(osp.join(out[split]['img_prefix'], info['file_name']))
            assert image.shape == (info['height'], info['width'], 3) == (96, 128, 3)
        for ann in coco.loadAnns(coco.getAnnIds()):
            assert ann['category_id'] == 1 and ann['iscrowd'] == 0
            assert len(ann['keypoints']) == 3 * 17


def test_labels_consistent(sample):
    out, dataset = sample
    sizes = {info['id']: (info['height'], info['width']) for info in dataset['images']}
    assert len({ann['id'] for ann in dataset['annotations']}) == len(dataset['annotations'])
    for ann in dataset['annotations']:
        height, width = sizes[ann['image_id']]
        kpts = np.array(ann['keypoints'], dtype=np.float64).reshape(17, 3)
        labelled = kpts[:, 2] > 0
        assert set(kpts[:, 2]) <= {0, 1, 2}
        assert ann['num_keypoints'] == labelled.sum()
        assert (kpts[~labelled] == 0).all()
        xy = kpts[labelled, :2]
        assert (xy >= 0).all() and (xy[:, 0] <= width - 1).all() and (xy[:, 1] <= height - 1).all()
        x, y, w, h = ann['bbox']
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= width and y + h <= height
        centres = xy + 0.5  # pixel index -> continuous, as CocoKeypointDataset loads them
        assert (centres[:, 0] >= x).all() and (centres[:, 0] <= x + w).all()
        assert (centres[:, 1] >= y).all() and (centres[:, 1] <= y + h).all()
        assert 0 < ann['area'] <= w * h


def test_label_statistics(sample):
    out, dataset = sample
    counts = np.bincount([ann['image_id'] for ann in dataset['annotations']], minlength=41)[1:]
    assert counts.min() >= 1 and counts.max() <= 4 and (counts > 1).mean() > 0.3
    vis = np.array([ann['keypoints'][2::3] for ann in dataset['annotations']])
    assert vis.size == 17 * out['train']['num_persons']
    assert (vis == 2).sum() == out['train']['num_visible']
    assert (vis == 1).sum() == out['train']['num_occluded']
    for v in (0, 1, 2):
        assert 0.03 < (vis == v).mean() < 0.97, v
    # some people cut by the border: a body keypoint (shoulders .. ankles) left out
    assert (vis[:, 5:] == 0).any()


def hue_side(bgr):
    """'left' for a warm colour, 'right' for a cool one (nearest family centre on the hue
    circle)."""
    hsv = cv2.cvtColor(np.uint8([[bgr]]), cv2.COLOR_BGR2HSV)[0, 0]
    hue = 2.0 * hsv[0]  # OpenCV stores degrees / 2
    dist = [min(abs(hue - np.mean(fam)), 360 - abs(hue - np.mean(fam))) for fam in (LEFT_HUES, RIGHT_HUES)]
    return 'left' if dist[0] < dist[1] else 'right'


def test_small_people_keep_a_box_but_no_keypoints(tmp_path):
    """COCO's convention: people under min_keypoint_area (32**2 by default) have num_keypoints=0;
    everybody else is labelled exactly as with min_keypoint_area=0."""
    out = generate_synthetic_coco(str(tmp_path / 'a'), 12, 0, seed=5, progress=False, preview=False)
    everybody = generate_synthetic_coco(
        str(tmp_path / 'b'), 12, 0, seed=5, progress=False, preview=False, min_keypoint_area=0)
    anns = load(out['train']['ann_file'])['annotations']
    all_anns = load(everybody['train']['ann_file'])['annotations']
    assert len(anns) == len(all_anns)
    small = [a['area'] < 32**2 for a in anns]
    assert 0 < sum(small) < len(anns) and out['train']['num_small'] == sum(small)
    assert everybody['train']['num_small'] == 0
    for ann, full, is_small in zip(anns, all_anns, small):
        assert ann['bbox'] == full['bbox'] and ann['area'] == full['area']
        if is_small:
            assert ann['num_keypoints'] == 0 and not any(ann['keypoints'])
            assert full['num_keypoints'] > 0
        else:
            assert ann['keypoints'] == full['keypoints']


def test_left_right_colours_differ(sample):
    """At visible elbows of people at least 60 px tall the image is warm on the left side and
    cool on the right one."""
    out, dataset = sample
    votes = {True: 0, False: 0}
    for info in dataset['images']:
        image = cv2.imread(osp.join(out['train']['img_prefix'], info['file_name']))
        image = cv2.blur(image, (3, 3))
        for ann in dataset['annotations']:
            if ann['image_id'] != info['id'] or ann['bbox'][3] < 60:
                continue
            kpts = np.array(ann['keypoints']).reshape(17, 3)
            for k, side in ((L_ELBOW, 'left'), (R_ELBOW, 'right')):
                if kpts[k, 2] == 2:
                    x, y = np.round(kpts[k, :2]).astype(int)
                    votes[hue_side(image[y, x]) == side] += 1
    assert votes[True] > 20
    assert votes[True] > 0.85 * (votes[True] + votes[False]), votes


def test_cli(tmp_path):
    out_dir = str(tmp_path / 'synthetic')
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'misc', 'make_synthetic.py'), out_dir, '--num-train', '3', '--num-val', '2',
        '--seed', '1', '--image-size', '128', '160'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr
    train = load(osp.join(out_dir, 'annotations', 'person_keypoints_train.json'))
    val = load(osp.join(out_dir, 'annotations', 'person_keypoints_val.json'))
    num_kpts = sum(ann['num_keypoints'] for ann in train['annotations'])
    assert (f"train: 3 images, {len(train['annotations'])} persons, {num_kpts} labelled keypoints"
            in proc.stdout)
    assert f"val: 2 images, {len(val['annotations'])} persons" in proc.stdout
    num_small = sum(ann['area'] < 32**2 for ann in train['annotations'])
    assert f'{num_small} small persons with a box only' in proc.stdout
    assert osp.join(out_dir, 'preview.png') in proc.stdout
    assert cv2.imread(osp.join(out_dir, 'images', 'val', '000000000002.jpg')).shape == (128, 160, 3)


def test_bad_arguments_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match='img_ext'):
        generate_synthetic_coco(str(tmp_path), 1, 0, img_ext='.bmp', progress=False)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match='max_persons'):
        synthesize_image(rng, (64, 64), max_persons=0)
    with pytest.raises(ValueError, match='max_occluders'):
        synthesize_image(rng, (64, 64), max_occluders=-1)


def test_import_mmhrkpt_does_not_load_the_generator():
    code = ("import sys, mmhrkpt; loaded = [m for m in sys.modules if m.startswith('mmhrkpt') "
            "and 'synthetic' in m]; assert not loaded, loaded")
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr
