"""tools/train.py then tools/test.py, as a user runs them, on a tiny config and generated data."""
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmhrkpt.testing.synthetic import generate_synthetic_coco

ROOT = Path(__file__).resolve().parents[2]

# The tiny model of tests/data/tiny_krcnn.py, trained for a few iterations.
TINY_CONFIG = """
_base_ = '{base}'
data = dict(samples_per_gpu=2, workers_per_gpu=0)
runner = dict(type='EpochBasedRunner', max_epochs=2)
lr_config = dict(warmup_iters=2, step=[0.5])
evaluation = dict(interval=1)
checkpoint_config = dict(interval=1)
log_config = dict(interval=1)
custom_hooks = [
    dict(type='FiniteLossHook', priority='VERY_HIGH'),
    dict(type='KeypointVisualizationHook', interval=2, num_images=2),
]
"""


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('e2e')
    config = root / 'tiny_config.py'
    config.write_text(TINY_CONFIG.format(base=ROOT / 'tests' / 'data' / 'tiny_krcnn.py'))
    return dict(root=root, config=str(config), options=_tiny_data(root / 'data', 4, 2, seed=3))


def _tiny_data(data, num_train, num_val, seed):
    """Generate 128x128 synthetic people in ``data``; return the --cfg-options that point the
    train, val and test splits at them. Every person is labelled (by default people under 32x32 of
    area get no keypoints)."""
    generate_synthetic_coco(
        data,
        num_train=num_train,
        num_val=num_val,
        seed=seed,
        image_size=(128, 128),
        min_keypoint_area=0,
        preview=False,
        progress=False)
    options = []
    for split, name in (('train', 'train'), ('val', 'val'), ('test', 'val')):
        options += [
            f'data.{split}.ann_file={data}/annotations/person_keypoints_{name}.json',
            f'data.{split}.img_prefix={data}/images/{name}/'
        ]
    return options


def _run(args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.run(
        [sys.executable] + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(tiny):
    work = tiny['root'] / 'work'
    out = _run(
        [
            str(ROOT / 'tools' / 'train.py'), tiny['config'], '--work-dir',
            str(work), '--seed', '0', '--cfg-options'
        ] + tiny['options'],
        cwd=tiny['root'])
    return dict(tiny, work=work, train_out=out)


def test_train_writes_checkpoints_logs_and_evaluates(trained):
    work = trained['work']
    assert (work / 'epoch_1.pth').exists() and (work / 'epoch_2.pth').exists()
    assert (work / 'latest.pth').exists()
    logs = glob.glob(str(work / '*.log.json'))
    assert len(logs) == 1
    rows = [json.loads(line) for line in open(logs[0]) if line.strip()]
    train_rows = [r for r in rows if r.get('mode') == 'train']
    val_rows = [r for r in rows if r.get('mode') == 'val']
    assert train_rows and all('loss_keypoint' in r for r in train_rows)
    assert len(val_rows) == 2 and all('keypoints_AP' in r and 'bbox_mAP' in r for r in val_rows)
    # the visualization hook drew ground truth | prediction pictures at epoch 2
    assert len(glob.glob(str(work / 'vis' / 'epoch_2_*.png'))) == 2


def test_checkpoints_carry_classes_and_keypoint_meta(trained):
    import torch

    from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES, COCO_SKELETON
    meta = torch.load(trained['work'] / 'latest.pth', map_location='cpu', weights_only=True)['meta']
    assert meta['CLASSES'] == ('person', )
    assert tuple(meta['keypoint_names']) == COCO_KEYPOINT_NAMES
    assert [tuple(edge) for edge in meta['skeleton']] == list(COCO_SKELETON)
    assert [5, 6] in meta['flip_pairs'] and len(meta['sigmas']) == 17


def test_test_eval_prints_tables_and_metrics(trained):
    out = _run(
        [
            str(ROOT / 'tools' / 'test.py'), trained['config'],
            str(trained['work'] / 'latest.pth'), '--eval', 'bbox', 'keypoints', '--work-dir',
            str(trained['work'] / 'eval'), '--show-dir',
            str(trained['work'] / 'show'), '--cfg-options'
        ] + trained['options'],
        cwd=trained['root'])
    assert 'keypoints_AP' in out and 'bbox_mAP' in out
    assert 'Average Precision' in out  # pycocotools' table
    evals = glob.glob(str(trained['work'] / 'eval' / 'eval_*.json'))
    metric = json.load(open(evals[0]))['metric']
    for key in ('keypoints_AP', 'keypoints_AP50', 'keypoints_AP75', 'keypoints_AR', 'bbox_mAP'):
        assert 0.0 <= metric[key] <= 1.0, key
    for key in ('keypoints_APm', 'keypoints_APl'):  # pycocotools: -1 = no ground truth that size
        assert metric[key] == -1 or 0.0 <= metric[key] <= 1.0, key
    assert len(glob.glob(str(trained['work'] / 'show' / '*.jpg'))) == 2


def test_test_format_only_writes_coco_results(trained):
    prefix = trained['work'] / 'results' / 'val'
    (trained['work'] / 'results').mkdir(exist_ok=True)
    _run(
        [
            str(ROOT / 'tools' / 'test.py'), trained['config'],
            str(trained['work'] / 'latest.pth'), '--format-only', '--eval-options',
            f'jsonfile_prefix={prefix}', '--cfg-options'
        ] + trained['options'],
        cwd=trained['root'])
    bbox = json.load(open(f'{prefix}.bbox.json'))
    kpts = json.load(open(f'{prefix}.keypoints.json'))
    assert isinstance(bbox, list) and isinstance(kpts, list)
    assert len(kpts) == len(bbox)
    for entry in kpts:
        assert len(entry['keypoints']) == 3 * 17
        assert {'image_id', 'category_id', 'score'} <= set(entry)


def test_inference_api_on_one_image(trained):
    import numpy as np

    from mmhrkpt.apis import inference_model, init_model
    options = dict(o.split('=', 1) for o in trained['options'])
    model = init_model(
        trained['config'], str(trained['work'] / 'latest.pth'), device='cpu', cfg_options=options)
    img = sorted(glob.glob(str(trained['root'] / 'data' / 'images' / 'val' / '*')))[0]
    for source in (img, __import__('mmcv').imread(img)):
        result = inference_model(model, source)
        n = len(result['bboxes'])
        assert result['bboxes'].shape == (n, 4) and result['scores'].shape == (n, )
        assert result['keypoints'].shape == (n, 17, 3) and result['labels'].shape == (n, )
        assert np.all(np.diff(result['scores']) <= 0)  # sorted by score
    assert n > 0  # score_thr 0 in the tiny config: the untrained model still returns boxes


def test_image_demo_analyze_logs_browse_and_draw_tools(trained):
    work, root = trained['work'], trained['root']
    img = sorted(glob.glob(str(root / 'data' / 'images' / 'val' / '*')))[0]
    out = _run([
        str(ROOT / 'demo' / 'image_demo.py'), img, trained['config'],
        str(work / 'latest.pth'), '--out-file',
        str(work / 'demo.png')
    ],
               cwd=root)
    assert (work / 'demo.png').exists() and 'persons' in out

    log = glob.glob(str(work / '*.log.json'))[0]
    _run([
        str(ROOT / 'tools' / 'analysis_tools' / 'analyze_logs.py'), 'plot_curve', log, '--keys', 'loss',
        'loss_keypoint', 'keypoints_AP', '--out',
        str(work / 'curves.png')
    ],
         cwd=root)
    assert (work / 'curves.png').stat().st_size > 1000

    _run(
        [
            str(ROOT / 'tools' / 'misc' / 'browse_dataset.py'), trained['config'], '--output-dir',
            str(work / 'browse'), '--num', '3', '--cfg-options'
        ] + trained['options'],
        cwd=root)
    assert len(glob.glob(str(work / 'browse' / '*.png'))) == 3

    _run(
        [
            str(ROOT / 'tools' / 'misc' / 'draw_predictions.py'), trained['config'],
            str(work / 'latest.pth'), '--out-dir',
            str(work / 'pred'), '--num', '2', '--cfg-options'
        ] + trained['options'],
        cwd=root)
    assert len(glob.glob(str(work / 'pred' / '*.png'))) == 2


# The demo's own LR schedule (FractionStep, steps at 1190 / 1500 and 1425 / 1500 of the training) on a
# generated set of another size than the demo's 1200 images.
SCHEDULE_CONFIG = """
_base_ = '{base}'
data = dict(samples_per_gpu=2, workers_per_gpu=0)
runner = dict(type='EpochBasedRunner', max_epochs=4)
lr_config = dict(warmup_iters=2)
evaluation = dict(interval=100)
checkpoint_config = dict(interval=100)
log_config = dict(interval=1)
custom_hooks = [dict(type='FiniteLossHook', priority='VERY_HIGH')]
"""


def test_demo_lr_steps_follow_the_dataset_size_in_a_real_training(tmp_path):
    config = tmp_path / 'schedule_config.py'
    config.write_text(SCHEDULE_CONFIG.format(base=ROOT / 'tests' / 'data' / 'tiny_krcnn.py'))
    options = _tiny_data(tmp_path / 'data', 10, 1, seed=5)
    work = tmp_path / 'work'
    _run(
        [
            str(ROOT / 'tools' / 'train.py'),
            str(config), '--work-dir',
            str(work), '--seed', '0', '--cfg-options'
        ] + options,
        cwd=tmp_path)
    log = glob.glob(str(work / '*.log.json'))[0]
    rows = [json.loads(line) for line in open(log)]
    lrs = [r['lr'] for r in rows if r.get('mode') == 'train']
    total = len(lrs)
    assert total >= 16  # 10 images, 2 per iteration, 4 epochs (fewer if the dataset dropped an image)
    drops = [i for i in range(1, total) if lrs[i] < 0.5 * lrs[i - 1]]
    # the same fractions of the training as the demo's 1190 and 1425 of 1500, whatever the size
    assert len(drops) == 2, lrs
    for drop, fraction in zip(drops, (1190 / 1500, 1425 / 1500)):
        assert abs(drop - fraction * total) <= 0.5, (drops, total)
    assert lrs[-1] == pytest.approx(lrs[drops[0] - 1] * 0.01)
