"""tools/analysis_tools/analyze_results.py and tools/misc/draw_results.py on hand-made results whose
errors are known, for a 14-keypoint (CrowdPose) dataset, from a results json and from a pickle."""
import csv
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest
from coco_kpt_data import CROWDPOSE_NAMES, CROWDPOSE_SIGMAS, person, write_coco

ROOT = Path(__file__).resolve().parents[2]
K = len(CROWDPOSE_NAMES)
AREA = 10000.0
NAME = {n: i for i, n in enumerate(CROWDPOSE_NAMES)}

CONFIG = """
_base_ = '{base}'
data = dict(test=dict(ann_file='{ann}', img_prefix='{img}', dataset_info=dict(sigmas={sigmas})))
"""


def grid(dx=0.0):
    """K keypoints 40 px apart: far enough that no two are within ks 0.5 of each other."""
    k = np.arange(K)
    return np.stack([40.0 + 40 * (k % 4) + dx, 40.0 + 40 * (k // 4)], 1)


def annotation(ann_id, img_id, xy, unlabelled=()):
    labelled = {k: (float(x), float(y), 2) for k, (x, y) in enumerate(xy) if k not in unlabelled}
    ann = person(ann_id, img_id, (20 + xy[0, 0] - 40, 20, 160, 160), labelled, num_keypoints=K)
    ann['area'] = AREA
    return ann


def entry(img_id, xy, score):
    kpts = np.concatenate([xy, np.ones((K, 1))], 1)
    x0, y0 = xy.min(0)
    x1, y1 = xy.max(0)
    return dict(
        image_id=img_id,
        category_id=1,
        keypoints=kpts.reshape(-1).tolist(),
        score=score,
        bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)])


def jitter_shift(sigma, ks):
    return float(np.sqrt(-np.log(ks) * 2 * AREA * (2 * sigma)**2))


@pytest.fixture(scope='module')
def scene(tmp_path_factory):
    """Image 1: persons A and B (B's neck unlabelled); image 2: person C and a far false positive.

    Prediction of A: head at ks 0.7 (jitter), left and right wrists exchanged (2 inversions), left
    knee on B's left knee (swap), right ankle 200 px off (miss). B and C predicted exactly.
    """
    root = tmp_path_factory.mktemp('analyze')
    a, b, c = grid(), grid(300.0), grid()
    anns = [annotation(1, 1, a), annotation(2, 1, b, unlabelled=(NAME['neck'], )), annotation(3, 2, c)]
    ann_file, img_dir = write_coco(
        root, [(1, '1.png', 640, 480), (2, '2.png', 640, 480)], anns, keypoint_names=CROWDPOSE_NAMES)
    pred_a = a.copy()
    pred_a[NAME['head'], 0] += jitter_shift(CROWDPOSE_SIGMAS[NAME['head']], 0.7)
    pred_a[[NAME['left_wrist'], NAME['right_wrist']]] = a[[NAME['right_wrist'], NAME['left_wrist']]]
    pred_a[NAME['left_knee']] = b[NAME['left_knee']]
    pred_a[NAME['right_ankle'], 1] += 200
    results = [
        entry(1, pred_a, 0.9),
        entry(1, b, 0.8),
        entry(2, c, 0.95),
        entry(2,
              np.full((K, 2), 600.0) + np.arange(K)[:, None], 0.3)
    ]
    json_file = root / 'results.keypoints.json'
    json_file.write_text(json.dumps(results))
    # the same results as tools/test.py --out writes them: per image (boxes, keypoints) per class,
    # in continuous pixels (+0.5)
    pkl = []
    for img_id in (1, 2):
        mine = [r for r in results if r['image_id'] == img_id]
        boxes = np.array([
            r['bbox'][:2] + [r['bbox'][0] + r['bbox'][2], r['bbox'][1] + r['bbox'][3], r['score']]
            for r in mine
        ],
                         dtype=np.float32)
        kpts = np.array([r['keypoints'] for r in mine], dtype=np.float32).reshape(-1, K, 3)
        kpts[..., :2] += 0.5
        pkl.append(([boxes], [kpts]))
    mmcv.dump(pkl, str(root / 'results.pkl'))
    config = root / 'config.py'
    config.write_text(
        CONFIG.format(
            base=ROOT / 'tests' / 'data' / 'tiny_krcnn.py',
            ann=ann_file,
            img=img_dir,
            sigmas=list(CROWDPOSE_SIGMAS)))
    return dict(
        root=root,
        config=str(config),
        json=str(json_file),
        pkl=str(root / 'results.pkl'),
        ann=ann_file,
        img_dir=img_dir)


def _run(args, cwd, ok=True):
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable] + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert (proc.returncode == 0) == ok, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def _analyze(scene, results, out):
    return _run([
        str(ROOT / 'tools' / 'analysis_tools' / 'analyze_results.py'), scene['config'], results, '--out-dir',
        str(out), '--topk', '1'
    ],
                cwd=scene['root'])


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize('kind', ['json', 'pkl'])
def test_error_counts_are_exact(scene, kind):
    out = scene['root'] / f'out_{kind}'
    proc = _analyze(scene, scene[kind], out)
    rows = {r['keypoint']: r for r in read_csv(out / 'errors.csv')}
    assert list(rows) == list(CROWDPOSE_NAMES) + ['all']
    counts = {t: int(rows['all'][t]) for t in ('good', 'jitter', 'inversion', 'swap', 'miss')}
    assert counts == dict(good=36, jitter=1, inversion=2, swap=1, miss=1)
    assert int(rows['all']['labelled']) == 14 + 13 + 14
    assert (rows['head']['jitter'], rows['left_wrist']['inversion'], rows['right_wrist']['inversion'],
            rows['left_knee']['swap'], rows['right_ankle']['miss']) == ('1', ) * 5
    assert rows['neck']['labelled'] == '2' and rows['neck']['good'] == '2'
    assert 'inversion' in proc.stdout and 'dAP' in proc.stdout

    ap = {r['corrected']: r for r in read_csv(out / 'ap_cost.csv')}
    assert list(ap) == ['original', 'jitter', 'inversion', 'swap', 'miss', 'all']
    assert float(ap['all']['AP']) > float(ap['original']['AP'])
    for name in ('jitter', 'inversion', 'swap', 'miss'):
        assert float(ap[name]['dAP']) == pytest.approx(float(ap[name]['AP']) - float(ap['original']['AP']))
        assert float(ap[name]['dAP']) >= 0
    assert float(ap['original']['APl']) >= 0 and float(ap['original']['APm']) == -1  # area 10000: large

    ranked = read_csv(out / 'image_oks.csv')
    assert [r['file_name'] for r in ranked] == ['2.png', '1.png']
    assert float(ranked[0]['mean_oks']) == pytest.approx(1.0)
    best, worst = glob.glob(str(out / 'best' / '*.png')), glob.glob(str(out / 'worst' / '*.png'))
    assert len(best) == 1 and best[0].endswith('_2.png') and worst[0].endswith('_1.png')
    picture = mmcv.imread(best[0])
    assert picture.shape == (480, 1280, 3)  # ground truth | prediction
    for name in ('errors.png', 'ap_cost.png', 'errors.txt'):
        assert (out / name).stat().st_size > 500


def test_results_of_another_dataset_are_refused(scene):
    bad = scene['root'] / 'bad.json'
    bad.write_text(json.dumps([entry(7, grid(), 0.5)]))
    proc = _run([
        str(ROOT / 'tools' / 'analysis_tools' / 'analyze_results.py'), scene['config'],
        str(bad), '--out-dir',
        str(scene['root'] / 'bad')
    ],
                cwd=scene['root'],
                ok=False)
    assert 'image ids [7] are not in the test set' in proc.stderr
    short = scene['root'] / 'short.pkl'
    mmcv.dump([([np.zeros((0, 5))], [np.zeros((0, K, 3))])], str(short))
    proc = _run([
        str(ROOT / 'tools' / 'analysis_tools' / 'analyze_results.py'), scene['config'],
        str(short), '--out-dir',
        str(scene['root'] / 'bad')
    ],
                cwd=scene['root'],
                ok=False)
    assert 'has results for 1 images but the test set' in proc.stderr


def test_draw_results_on_coco_images(scene):
    out = scene['root'] / 'drawn'
    _run([
        str(ROOT / 'tools' / 'misc' / 'draw_results.py'), scene['json'], '--ann-file', scene['ann'],
        '--img-dir', scene['img_dir'], '--out-dir',
        str(out), '--config', scene['config']
    ],
         cwd=scene['root'])
    files = sorted(os.path.basename(f) for f in glob.glob(str(out / '*.png')))
    assert files == ['1.png', '2.png']
    drawn, plain = mmcv.imread(str(out / '1.png')), mmcv.imread(os.path.join(scene['img_dir'], '1.png'))
    assert drawn.shape == plain.shape and (drawn != plain).any()
