"""The ``data`` subcommand: CocoKeypointDataset on a COCO-sized person-keypoints json.

Three figures, each on generated data with the structure of COCO's files (no images are needed):

- **load**: building ``CocoKeypointDataset`` (training mode) against pycocotools' ``COCO`` alone on
  the same json, each in a fresh interpreter, best of ``repeat``; their resident memory retained
  beyond what the interpreter held before (the dataset's own memory is the difference);
- **eval**: ``dataset.evaluate(results, metric='keypoints')`` for detections on a val-sized json,
  as the evaluation hook calls it, split into COCOeval itself (``evaluate`` / ``accumulate`` /
  ``summarize``), loading the results into a COCO api (``loadRes``), the results made COCO's
  keypoint format (``_kpt2json``) and the rest.

The json's shape follows ``person_keypoints_train2017.json``: ``info``, ``licenses``, images with
COCO's fields, one person category with the 17 keypoints and skeleton, and annotations with a polygon
(an uncompressed RLE for crowds), ``area``, ``iscrowd``, ``num_keypoints``, ``keypoints`` and
``bbox``. As in COCO, about 43 % of the persons have no labelled keypoint and 1 % are crowds.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict

import numpy as np

# What COCO's person keypoint files hold (train2017: 64115 images, 262465 persons; val2017: 5000
# images with 11004 persons).
COCO_TRAIN_IMAGES, COCO_TRAIN_PERSONS = 64115, 262465
COCO_VAL_IMAGES, COCO_VAL_PERSONS = 5000, 11004
NO_KEYPOINT_SHARE = 0.43
CROWD_SHARE = 0.01
POLYGON_POINTS = (8, 40)  # vertices of a person's polygon, uniform in this range
NUM_KEYPOINTS = 17
TIMED_EVAL_REGIONS = ('cocoeval', 'load_res', 'results_to_json')


# --------------------------------------------------------------------------- generated files
def generate_coco_json(path, num_images, num_persons, seed=0):
    """Write a COCO person-keypoints json of ``num_images`` images and ``num_persons`` persons.

    Every image has at least one person when ``num_persons >= num_images``. Persons are boxes inside
    their image with keypoints inside their box (v = 1 or 2 for the labelled ones).

    Returns:
        dict: ``path``, ``num_images``, ``num_persons``, ``size_mb``, ``seconds``.
    """
    from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES, COCO_SKELETON
    start = time.perf_counter()
    rng = np.random.RandomState(seed)
    widths = rng.choice([640, 480, 427, 500, 612], num_images)
    heights = rng.choice([480, 640, 427, 375, 612], num_images)
    images = [
        dict(
            license=int(rng.randint(1, 8)),
            file_name=f'{i:012d}.jpg',
            coco_url=f'http://images.cocodataset.org/train2017/{i:012d}.jpg',
            height=int(h),
            width=int(w),
            date_captured='2013-11-14 16:28:13',
            flickr_url=f'http://farm4.staticflickr.com/{i}.jpg',
            id=int(i)) for i, w, h in zip(range(1, num_images + 1), widths, heights)
    ]
    owner = np.concatenate([
        np.arange(min(num_images, num_persons)),
        rng.randint(0, num_images, max(0, num_persons - num_images))
    ])
    owner.sort(kind='stable')
    img_w, img_h = widths[owner].astype(np.float64), heights[owner].astype(np.float64)
    box_w = np.maximum(2.0, img_w * rng.uniform(0.02, 0.6, num_persons)).round(2)
    box_h = np.maximum(2.0, img_h * rng.uniform(0.05, 0.9, num_persons)).round(2)
    box_x = (rng.uniform(0, 1, num_persons) * (img_w - box_w)).round(2)
    box_y = (rng.uniform(0, 1, num_persons) * (img_h - box_h)).round(2)
    crowd = rng.uniform(0, 1, num_persons) < CROWD_SHARE
    with_keypoints = (rng.uniform(0, 1, num_persons) >= NO_KEYPOINT_SHARE) & ~crowd
    labelled = with_keypoints[:, None] & (rng.uniform(0, 1, (num_persons, NUM_KEYPOINTS)) < 0.75)
    kx = (box_x[:, None] + rng.uniform(0, 1, (num_persons, NUM_KEYPOINTS)) * box_w[:, None])
    ky = (box_y[:, None] + rng.uniform(0, 1, (num_persons, NUM_KEYPOINTS)) * box_h[:, None])
    kv = np.where(rng.uniform(0, 1, (num_persons, NUM_KEYPOINTS)) < 0.8, 2, 1)
    keypoints = np.stack([kx.astype(np.int64), ky.astype(np.int64), kv], -1) * labelled[..., None]
    num_vertices = rng.randint(*POLYGON_POINTS, num_persons)
    annotations = []
    for n in range(num_persons):
        x, y, w, h = float(box_x[n]), float(box_y[n]), float(box_w[n]), float(box_h[n])
        if crowd[n]:
            height, width = int(heights[owner[n]]), int(widths[owner[n]])
            segmentation = dict(counts=[int(c) for c in rng.randint(1, 400, 60)], size=[height, width])
        else:
            angle = np.linspace(0, 2 * np.pi, num_vertices[n], endpoint=False)
            poly = np.stack([x + w * (0.5 + 0.5 * np.cos(angle)), y + h * (0.5 + 0.5 * np.sin(angle))], 1)
            segmentation = [poly.round(2).reshape(-1).tolist()]
        annotations.append(
            dict(
                segmentation=segmentation,
                num_keypoints=int(labelled[n].sum()),
                area=round(w * h * 0.6, 4),
                iscrowd=int(crowd[n]),
                keypoints=keypoints[n].reshape(-1).tolist(),
                image_id=int(owner[n] + 1),
                bbox=[x, y, w, h],
                category_id=1,
                id=int(n + 1)))
    category = dict(
        supercategory='person',
        id=1,
        name='person',
        keypoints=list(COCO_KEYPOINT_NAMES),
        skeleton=[[i + 1, j + 1] for i, j in COCO_SKELETON])
    payload = dict(
        info=dict(description='COCO-structured generated keypoints', version='1.0', year=2017),
        licenses=[dict(url='', id=i, name='') for i in range(1, 9)],
        images=images,
        annotations=annotations,
        categories=[category])
    with open(path, 'w') as f:
        f.write(json.dumps(payload))
    return OrderedDict(
        path=path,
        num_images=num_images,
        num_persons=num_persons,
        size_mb=os.path.getsize(path) / 2**20,
        seconds=time.perf_counter() - start)


def generate_results(dataset, dets_per_image, seed=0):
    """``dets_per_image`` detections per image in the model's result format: every ground-truth
    person found with a few pixels of noise, the rest random boxes with random keypoints."""
    rng = np.random.RandomState(seed)
    num_kpt = dataset.num_keypoints
    results = []
    for idx in range(len(dataset)):
        info = dataset.data_infos[idx]
        gt = dataset.get_ann_info(idx)
        boxes, kpts = gt['bboxes'][:dets_per_image], gt['keypoints'][:dets_per_image]
        num_fake = dets_per_image - len(boxes)
        wh = np.array([info['width'], info['height']], np.float32)
        corner = rng.uniform(0, 0.7, (num_fake, 2)) * wh
        size = rng.uniform(0.05, 0.3, (num_fake, 2)) * wh
        fake_boxes = np.concatenate([corner, corner + size], 1)
        fake_kpts = corner[:, None] + rng.uniform(0, 1, (num_fake, num_kpt, 2)) * size[:, None]
        xy = np.concatenate([kpts[..., :2] + rng.normal(0, 3, kpts[..., :2].shape), fake_kpts])
        all_boxes = np.concatenate([boxes, fake_boxes]).astype(np.float32)
        scores = rng.uniform(0, 1, (dets_per_image, 1))
        keypoint_scores = rng.uniform(0, 1, (dets_per_image, num_kpt, 1))
        bbox_result = np.concatenate([all_boxes, scores], 1).astype(np.float32)
        keypoint_result = np.concatenate([xy, keypoint_scores], -1).astype(np.float32)
        results.append(([bbox_result], [keypoint_result]))
    return results


# --------------------------------------------------------------------------- load, in a child
def _rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def _child_load(kind, ann_file):
    """Runs in a fresh interpreter: load ``ann_file`` one way; print the figures as JSON."""
    from benchmark_utils import release_memory  # noqa: F401 (beside this file)
    if kind == 'pycocotools':
        import contextlib
        import io

        from pycocotools.coco import COCO

        def build():
            with contextlib.redirect_stdout(io.StringIO()):
                return COCO(ann_file)
    else:
        import mmhrkpt  # noqa: F401
        from mmhrkpt.datasets import CocoKeypointDataset

        def build():
            return CocoKeypointDataset(ann_file, [], min_keypoints=0)

    release_memory()
    before = _rss_mb()
    start = time.perf_counter()
    obj = build()
    seconds = time.perf_counter() - start
    release_memory()
    after = _rss_mb()
    figures = dict(seconds=seconds, rss_before_mb=before, rss_after_mb=after, retained_mb=after - before)
    if kind == 'dataset':
        persons = sum(len(obj.get_ann_info(i)['labels']) for i in range(len(obj)))
        figures.update(images=len(obj), persons=int(persons))
    print('BENCH_JSON ' + json.dumps(figures))


def _run_child(kind, ann_file):
    tool_dir = os.path.dirname(os.path.abspath(__file__))
    repo_root = os.path.dirname(os.path.dirname(tool_dir))
    paths = [tool_dir, repo_root] + ([os.environ['PYTHONPATH']] if os.environ.get('PYTHONPATH') else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), '--child', kind, ann_file],
        capture_output=True,
        text=True,
        env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith('BENCH_JSON ')]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f'loading {ann_file} with {kind} failed:\n{proc.stderr[-3000:]}')
    return json.loads(lines[-1][len('BENCH_JSON '):])


def bench_load(ann_file, repeat=1):
    """pycocotools' COCO and CocoKeypointDataset on ``ann_file``, alternately, each in a fresh
    interpreter, ``repeat`` times; the fastest run of each is reported."""
    runs = dict(pycocotools=[], dataset=[])
    for _ in range(repeat):
        for kind in runs:
            runs[kind].append(_run_child(kind, ann_file))
    coco = min(runs['pycocotools'], key=lambda r: r['seconds'])
    dataset = min(runs['dataset'], key=lambda r: r['seconds'])
    return OrderedDict(
        pycocotools_s=coco['seconds'],
        dataset_s=dataset['seconds'],
        ratio=dataset['seconds'] / coco['seconds'],
        pycocotools_retained_mb=coco['retained_mb'],
        dataset_retained_mb=dataset['retained_mb'],
        dataset_beyond_pycocotools_mb=dataset['retained_mb'] - coco['retained_mb'],
        images=dataset['images'],
        persons=dataset['persons'],
        runs_pycocotools_s=[r['seconds'] for r in runs['pycocotools']],
        runs_dataset_s=[r['seconds'] for r in runs['dataset']])


# --------------------------------------------------------------------------------- evaluation
def bench_eval(ann_file, dets_per_image, seed=0):
    """``evaluate(metric='keypoints')`` on ``ann_file`` with ``dets_per_image`` detections per
    image, the time split into COCOeval, loadRes, _kpt2json and the rest."""
    from benchmark_utils import RegionTimer

    from mmhrkpt.core.evaluation import keypoint_eval
    from mmhrkpt.datasets import CocoKeypointDataset
    dataset = CocoKeypointDataset(ann_file, [], test_mode=True)
    results = generate_results(dataset, dets_per_image, seed)
    timer = RegionTimer('cpu')
    for method in ('evaluate', 'accumulate', 'summarize'):
        timer.wrap(keypoint_eval.COCOeval, method, 'cocoeval')
    timer.wrap(keypoint_eval.KeypointCOCO, 'loadRes', 'load_res')
    timer.wrap(dataset, '_kpt2json', 'results_to_json')
    try:
        start = time.perf_counter()
        with timer.region('other'):  # as the evaluation hook calls it: no result files kept
            metrics = dataset.evaluate(results, metric='keypoints')
        total = time.perf_counter() - start
    finally:
        timer.restore()
    parts = OrderedDict(
        (f'{name}_s', timer.exclusive.get(name, 0.0)) for name in TIMED_EVAL_REGIONS + ('other', ))
    return OrderedDict(
        images=len(dataset),
        detections=len(dataset) * dets_per_image,
        total_s=total,
        cocoeval_share=parts['cocoeval_s'] / total,
        **parts,
        keypoints_AP=metrics['keypoints_AP'])


def bench_data(num_images,
               num_persons,
               eval_images,
               eval_persons,
               dets_per_image,
               repeat,
               work_dir=None,
               seed=0):
    """Generate both files (in ``work_dir`` or a temporary folder), then :func:`bench_load` and
    :func:`bench_eval`."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = work_dir or tmp
        os.makedirs(folder, exist_ok=True)
        train = generate_coco_json(
            os.path.join(folder, 'person_keypoints_train.json'), num_images, num_persons, seed)
        print(
            f"generated {train['path']}: {num_images} images, {num_persons} persons, "
            f"{train['size_mb']:.0f} MB in {train['seconds']:.0f} s",
            flush=True)
        load = bench_load(train['path'], repeat)
        val = generate_coco_json(
            os.path.join(folder, 'person_keypoints_val.json'), eval_images, eval_persons, seed + 1)
        evaluation = bench_eval(val['path'], dets_per_image, seed)
        for generated in (train, val):
            generated['path'] = os.path.basename(generated['path'])
    return OrderedDict(train_json=train, load=load, val_json=val, eval=evaluation)


def format_data(results):
    from benchmark_utils import format_table
    load, ev = results['load'], results['eval']
    rows = [
        ['pycocotools COCO()', load['pycocotools_s'], load['pycocotools_retained_mb'], ''],
        [
            'CocoKeypointDataset', load['dataset_s'], load['dataset_retained_mb'],
            f"{load['ratio']:.2f}x, +{load['dataset_beyond_pycocotools_mb']:.0f} MB"
        ],
    ]
    text = format_table(['load', 'seconds', 'retained MB', 'vs pycocotools'], rows)
    parts = [[name, ev[f'{name}_s'], f"{100 * ev[f'{name}_s'] / ev['total_s']:.0f} %"]
             for name in TIMED_EVAL_REGIONS + ('other', )]
    text += (f"\n\nevaluate(metric='keypoints'): {ev['images']} images x "
             f"{ev['detections'] // max(1, ev['images'])} detections in {ev['total_s']:.1f} s\n")
    return text + format_table(['part', 'seconds', 'share'], parts)


if __name__ == '__main__' and len(sys.argv) == 4 and sys.argv[1] == '--child':
    _child_load(sys.argv[2], sys.argv[3])
