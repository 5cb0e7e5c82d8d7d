"""The tools a user reaches for after training, run as a user runs them on a tiny model trained once
here: TensorBoard scalars, --auto-scale-lr, cal_train_time, the video demo (a few-second synthetic
video), draw_results, analyze_results on tools/test.py's outputs and get_flops."""
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import mmcv
import numpy as np
import pytest
import torch

from mmhrkpt.testing.synthetic import generate_synthetic_coco

ROOT = Path(__file__).resolve().parents[2]
BASE_LR = 2e-3  # the synthetic config's AdamW LR
BATCH = 2
BASE_BATCH = 16
FPS = 8
FRAMES_PER_IMAGE = 5
NUM_VAL = 4

TINY_CONFIG = """
_base_ = '{base}'
data = dict(samples_per_gpu={batch}, workers_per_gpu=0)
runner = dict(type='EpochBasedRunner', max_epochs=2)
lr_config = dict(warmup_iters=2, step=[0.5])
evaluation = dict(interval=1)
checkpoint_config = dict(interval=1)
log_config = dict(interval=1)
custom_hooks = [dict(type='FiniteLossHook', priority='VERY_HIGH')]
auto_scale_lr = dict(base_batch_size={base_batch})
"""


def _run(args, cwd, ok=True, **env_vars):
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONPATH=str(ROOT), **env_vars)
    proc = subprocess.run(
        [sys.executable] + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert (proc.returncode == 0) == ok, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('tools')
    data = root / 'data'
    generate_synthetic_coco(
        data,
        num_train=4,
        num_val=NUM_VAL,
        seed=5,
        image_size=(128, 128),
        min_keypoint_area=0,
        preview=False,
        progress=False)
    config = root / 'tiny_config.py'
    config.write_text(
        TINY_CONFIG.format(
            base=ROOT / 'tests' / 'data' / 'tiny_krcnn.py', batch=BATCH, base_batch=BASE_BATCH))
    options = []
    for split, name in (('train', 'train'), ('val', 'val'), ('test', 'val')):
        options += [
            f'data.{split}.ann_file={data}/annotations/person_keypoints_{name}.json',
            f'data.{split}.img_prefix={data}/images/{name}/'
        ]
    work = root / 'work'
    proc = _run(
        [
            str(ROOT / 'tools' / 'train.py'),
            str(config), '--work-dir',
            str(work), '--seed', '0', '--auto-scale-lr', '--cfg-options'
        ] + options,
        cwd=root)
    return dict(
        root=root,
        data=data,
        config=str(config),
        options=options,
        work=work,
        checkpoint=str(work / 'latest.pth'),
        log=glob.glob(str(work / '*.log.json'))[0],
        train_out=proc.stdout + proc.stderr)


def _log_rows(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def test_tensorboard_gets_losses_lr_and_ap(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = glob.glob(str(trained['work'] / 'tf_logs' / 'events.out.tfevents.*'))
    assert len(events) == 1
    acc = EventAccumulator(events[0])
    acc.Reload()
    tags = set(acc.Tags()['scalars'])
    assert {'train/loss', 'train/loss_keypoint', 'learning_rate', 'val/keypoints_AP', 'val/bbox_mAP'} <= tags
    rows = _log_rows(trained['log'])
    logged_ap = [r['keypoints_AP'] for r in rows if r.get('mode') == 'val']
    assert len(logged_ap) == 2
    np.testing.assert_allclose([e.value for e in acc.Scalars('val/keypoints_AP')], logged_ap, atol=1e-6)
    logged_loss = [r['loss'] for r in rows if r.get('mode') == 'train']
    np.testing.assert_allclose([e.value for e in acc.Scalars('train/loss')], logged_loss, rtol=1e-5)


def test_auto_scale_lr_scales_and_logs(trained):
    scaled = BASE_LR * BATCH / BASE_BATCH
    assert f'LR has been automatically scaled from {BASE_LR} to {scaled}' in trained['train_out']
    state = torch.load(trained['checkpoint'], map_location='cpu', weights_only=False)
    assert state['optimizer']['param_groups'][0]['initial_lr'] == pytest.approx(scaled, rel=1e-12)


def test_auto_scale_lr_needs_a_base_batch_size(trained, tmp_path):
    config = tmp_path / 'no_base.py'
    config.write_text(f"_base_ = '{trained['config']}'\nauto_scale_lr = dict(_delete_=True, enable=False)\n")
    proc = _run(
        [str(ROOT / 'tools' / 'train.py'),
         str(config), '--work-dir',
         str(tmp_path / 'w'), '--auto-scale-lr'],
        cwd=tmp_path,
        ok=False)
    assert '--auto-scale-lr needs auto_scale_lr.base_batch_size' in proc.stderr


def test_cal_train_time(trained):
    proc = _run([
        str(ROOT / 'tools' / 'analysis_tools' / 'analyze_logs.py'), 'cal_train_time', trained['log'],
        '--include-outliers'
    ],
                cwd=trained['root'])
    times = [r['time'] for r in _log_rows(trained['log']) if r.get('mode') == 'train']
    assert f'average iter time: {np.mean(times):.4f} s/iter' in proc.stdout
    assert 'slowest epoch' in proc.stdout and 'fastest epoch' in proc.stdout
    assert 'time std over epochs' in proc.stdout
    # plot_curve keeps working on the same log
    _run([
        str(ROOT / 'tools' / 'analysis_tools' / 'analyze_logs.py'), 'plot_curve', trained['log'], '--keys',
        'loss', 'keypoints_AP', '--out',
        str(trained['work'] / 'curves.png')
    ],
         cwd=trained['root'])
    assert (trained['work'] / 'curves.png').stat().st_size > 1000


@pytest.fixture(scope='module')
def video(trained):
    """A few-second video of the synthetic validation images, each shown for a few frames."""
    path = str(trained['root'] / 'people.mp4')
    images = sorted(glob.glob(str(trained['data'] / 'images' / 'val' / '*')))
    frames = [mmcv.imread(p) for p in images for _ in range(FRAMES_PER_IMAGE)]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), FPS, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return dict(path=path, num_frames=len(frames), size=(w, h))


def _video_info(path):
    cap = cv2.VideoCapture(path)
    info = (int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS),
            (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))))
    ok, first = cap.read()
    cap.release()
    return info, first


def test_video_demo_and_draw_results(trained, video):
    out, out_json = trained['root'] / 'demo' / 'out.mp4', trained['root'] / 'demo' / 'out.json'
    # one thread here and there: the untrained model's flat heatmaps decode differently when float
    # sums are split differently
    proc = _run([
        str(ROOT / 'demo' / 'video_demo.py'), video['path'], trained['config'], trained['checkpoint'],
        '--out',
        str(out), '--json',
        str(out_json), '--score-thr', '0'
    ],
                cwd=trained['root'],
                OMP_NUM_THREADS='1')
    assert 'time per frame: decode' in proc.stdout and 'model' in proc.stdout
    assert 'frames/s' in proc.stdout
    (count, fps, size), _ = _video_info(str(out))
    assert (count, fps, size) == (video['num_frames'], FPS, video['size'])
    frames = [json.loads(line) for line in open(out_json)]
    assert [f['frame_id'] for f in frames] == list(range(video['num_frames']))
    assert [f['time_s'] for f in frames] == [round(i / FPS, 4) for i in range(video['num_frames'])]
    assert all(
        len(p['bbox']) == 4 and np.asarray(p['keypoints']).shape == (17, 3) for f in frames
        for p in f['persons'])
    # the first entry is the model's result on the first decoded frame, in its pixels
    from mmhrkpt.apis import inference_model, init_model
    options = dict(o.split('=', 1) for o in trained['options'])
    model = init_model(trained['config'], trained['checkpoint'], cfg_options=options)
    _, first = _video_info(video['path'])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = inference_model(model, first)
    finally:
        torch.set_num_threads(threads)
    assert len(frames[0]['persons']) == len(result['scores']) > 0
    # the file keeps 2 decimals of a box and 4 of a keypoint
    np.testing.assert_allclose([p['bbox'] for p in frames[0]['persons']], result['bboxes'], atol=0.006)
    np.testing.assert_allclose([p['keypoints'] for p in frames[0]['persons']], result['keypoints'], atol=1e-4)

    drawn = trained['root'] / 'drawn_frames'
    _run([
        str(ROOT / 'tools' / 'misc' / 'draw_results.py'),
        str(out_json), '--video', video['path'], '--out-dir',
        str(drawn), '--score-thr', '0', '--max-num', '3'
    ],
         cwd=trained['root'])
    files = sorted(os.path.basename(f) for f in glob.glob(str(drawn / '*.png')))
    assert files == ['frame_000000.png', 'frame_000001.png', 'frame_000002.png']
    # a crash mid-line leaves a partial last line: everything before it is still read
    cut = trained['root'] / 'cut.json'
    text = open(out_json).read()
    cut.write_text(text[:text.index('\n', len(text) // 2) + 20])
    _run([
        str(ROOT / 'tools' / 'misc' / 'draw_results.py'),
        str(cut), '--video', video['path'], '--out-dir',
        str(trained['root'] / 'drawn_cut')
    ],
         cwd=trained['root'])


def test_video_demo_bad_inputs(trained, tmp_path):
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_text('not a video')
    empty = str(tmp_path / 'empty.mp4')
    writer = cv2.VideoWriter(empty, cv2.VideoWriter_fourcc(*'mp4v'), FPS, (64, 64))
    writer.release()
    cases = [([str(tmp_path / 'missing.mp4')], 'missing.mp4 does not exist'),
             ([str(garbage)], 'OpenCV cannot decode it'), ([empty], None), ([], 'camera 99')]
    for source, message in cases:
        extra = ['--camera-id', '99'] if not source else []
        proc = _run(
            [str(ROOT / 'demo' / 'video_demo.py')] + source +
            [trained['config'], 'no_checkpoint.pth', '--json',
             str(tmp_path / 'x.json')] + extra,
            cwd=tmp_path,
            ok=False)
        errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
        assert len(errors) == 1 and 'Traceback' not in proc.stderr, proc.stderr
        assert (message or 'empty.mp4') in errors[0]


def test_analyze_results_on_test_outputs(trained):
    root, work = trained['root'], trained['work']
    test_py = str(ROOT / 'tools' / 'test.py')
    _run(
        [
            test_py, trained['config'], trained['checkpoint'], '--out',
            str(work / 'results.pkl'), '--eval', 'keypoints', '--work-dir',
            str(work / 'eval'), '--cfg-options'
        ] + trained['options'],
        cwd=root)
    metric = json.load(open(glob.glob(str(work / 'eval' / 'eval_*.json'))[0]))['metric']
    prefix = work / 'formatted' / 'val'
    (work / 'formatted').mkdir()
    _run(
        [
            test_py, trained['config'], trained['checkpoint'], '--format-only', '--eval-options',
            f'jsonfile_prefix={prefix}', '--cfg-options'
        ] + trained['options'],
        cwd=root)
    tool = str(ROOT / 'tools' / 'analysis_tools' / 'analyze_results.py')
    tables = {}
    for name, results in (('pkl', work / 'results.pkl'), ('json', f'{prefix}.keypoints.json')):
        out = work / f'analysis_{name}'
        _run(
            [
                tool, trained['config'],
                str(results), '--out-dir',
                str(out), '--topk', '2', '--score-thr', '0', '--cfg-options'
            ] + trained['options'],
            cwd=root)
        tables[name] = (out / 'errors.csv').read_text()
        rows = list(__import__('csv').DictReader(open(out / 'errors.csv')))
        assert len(rows) == 17 + 1
        assert int(rows[-1]['labelled']) == sum(int(r['labelled']) for r in rows[:-1])
        ap = {r['corrected']: r for r in __import__('csv').DictReader(open(out / 'ap_cost.csv'))}
        # the uncorrected AP is tools/test.py's keypoint AP
        assert round(float(ap['original']['AP']), 4) == metric['keypoints_AP']
        assert len(glob.glob(str(out / 'best' / '*.png'))) == 2
        assert len(glob.glob(str(out / 'worst' / '*.png'))) == 2
    assert tables['pkl'] == tables['json']

    drawn = work / 'drawn_coco'
    _run([
        str(ROOT / 'tools' / 'misc' / 'draw_results.py'), f'{prefix}.keypoints.json', '--ann-file',
        str(trained['data'] / 'annotations' / 'person_keypoints_val.json'), '--img-dir',
        str(trained['data'] / 'images' / 'val'), '--out-dir',
        str(drawn), '--score-thr', '0'
    ],
         cwd=root)
    assert len(glob.glob(str(drawn / '*.png'))) == NUM_VAL


def test_test_py_gt_bboxes(trained):
    """--gt-bboxes: one prediction per labelled ground-truth person, in its box, keypoints in the
    original image's pixels (the test images are resized x2), AP as pycocotools computes it."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from mmhrkpt.codecs.utils.roi import expand_rois
    from mmhrkpt.datasets.keypoint_meta import COCO_SIGMAS
    root, work = trained['root'], trained['work']
    test_py = str(ROOT / 'tools' / 'test.py')
    (work / 'gt_boxes').mkdir()
    prefix = work / 'gt_boxes' / 'val'
    _run(
        [
            test_py, trained['config'], trained['checkpoint'], '--gt-bboxes', '--format-only',
            '--eval-options', f'jsonfile_prefix={prefix}', '--cfg-options'
        ] + trained['options'],
        cwd=root)
    proc = _run(
        [
            test_py, trained['config'], trained['checkpoint'], '--gt-bboxes', '--eval', 'keypoints',
            '--work-dir',
            str(work / 'gt_boxes'), '--cfg-options'
        ] + trained['options'],
        cwd=root)
    metric = json.load(open(glob.glob(str(work / 'gt_boxes' / 'eval_*.json'))[0]))['metric']
    gt = COCO(str(trained['data'] / 'annotations' / 'person_keypoints_val.json'))
    persons = [a for a in gt.loadAnns(gt.getAnnIds(iscrowd=False)) if a['num_keypoints'] > 0]
    predictions = json.load(open(f'{prefix}.keypoints.json'))
    assert len(persons) > 0
    assert sorted((p['image_id'], tuple(np.round(p['bbox'], 2))) for p in predictions) == \
        sorted((a['image_id'], tuple(np.round(a['bbox'], 2))) for a in persons)
    for p in predictions:
        x, y, w, h = p['bbox']
        rx1, ry1, rx2, ry2 = expand_rois(torch.tensor([[x, y, x + w, y + h]]), 0.75, 1.25)[0].tolist()
        kpts = np.asarray(p['keypoints']).reshape(17, 3)
        assert np.all((kpts[:, 0] >= rx1 - 1) & (kpts[:, 0] <= rx2 + 1)), (p['bbox'], kpts)
        assert np.all((kpts[:, 1] >= ry1 - 1) & (kpts[:, 1] <= ry2 + 1)), (p['bbox'], kpts)
    coco_eval = COCOeval(gt, gt.loadRes(f'{prefix}.keypoints.json'), 'keypoints')
    coco_eval.params.kpt_oks_sigmas = np.asarray(COCO_SIGMAS)
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
    assert metric['keypoints_AP'] == pytest.approx(coco_eval.stats[0], abs=1e-4)
    assert 'bbox_mAP' not in metric and 'keypoints_AP' in proc.stdout
    refused = _run([test_py, trained['config'], trained['checkpoint'], '--gt-bboxes', '--eval', 'bbox'],
                   cwd=root,
                   ok=False)
    assert 'the box AP of the ground-truth boxes is 1 by construction' in refused.stderr


def test_test_py_gt_bboxes_match_the_detector_path(trained):
    """Given the detector's own boxes as ground truth, --gt-bboxes returns the keypoints that the
    end-to-end test found in them."""
    root, work = trained['root'], trained['work']
    test_py = str(ROOT / 'tools' / 'test.py')
    out = work / 'gt_as_dets'
    out.mkdir()
    _run(
        [
            test_py, trained['config'], trained['checkpoint'], '--format-only', '--eval-options',
            f'jsonfile_prefix={out / "dets"}', '--cfg-options'
        ] + trained['options'],
        cwd=root)
    detections = json.load(open(out / 'dets.keypoints.json'))
    per_image = {}
    for d in sorted(detections, key=lambda d: -d['score']):
        per_image.setdefault(d['image_id'], [])
        if len(per_image[d['image_id']]) < 3:
            per_image[d['image_id']].append(d)
    chosen = [d for ds in per_image.values() for d in ds]
    assert len(chosen) >= NUM_VAL
    val = json.load(open(trained['data'] / 'annotations' / 'person_keypoints_val.json'))
    val['annotations'] = [
        dict(
            id=i + 1,
            image_id=d['image_id'],
            category_id=d['category_id'],
            bbox=d['bbox'],
            area=d['bbox'][2] * d['bbox'][3],
            iscrowd=0,
            num_keypoints=17,
            keypoints=[v for x, y, _ in np.reshape(d['keypoints'], (17, 3)) for v in (x, y, 2)])
        for i, d in enumerate(chosen)
    ]
    ann_file = out / 'dets_as_gt.json'
    ann_file.write_text(json.dumps(val))
    options = [o for o in trained['options'] if not o.startswith('data.test.ann_file=')]
    _run(
        [
            test_py, trained['config'], trained['checkpoint'], '--gt-bboxes', '--format-only',
            '--eval-options', f'jsonfile_prefix={out / "gt"}', '--cfg-options',
            f'data.test.ann_file={ann_file}'
        ] + options,
        cwd=root)
    predictions = json.load(open(out / 'gt.keypoints.json'))
    assert len(predictions) == len(chosen)

    def key(d):
        return d['image_id'], tuple(np.round(d['bbox'], 3))

    expected = {key(d): d['keypoints'] for d in chosen}
    for p in predictions:
        np.testing.assert_allclose(
            np.reshape(p['keypoints'], (17, 3))[:, :2],
            np.reshape(expected[key(p)], (17, 3))[:, :2],
            atol=2e-3)


def test_get_flops_cli(trained):
    proc = _run([
        str(ROOT / 'tools' / 'analysis_tools' / 'get_flops.py'), trained['config'], '--shape', '100', '120',
        '--num-rois', '10'
    ],
                cwd=trained['root'])
    assert 'input (3, 128, 128) (padded from (100, 120))' in proc.stdout
    for part in ('backbone', 'neck', 'rpn_head', 'bbox_head', 'keypoint_head per RoI',
                 'keypoint_head x 10 RoIs', 'total (10 keypoint RoIs)',
                 'forward_dummy ran the keypoint head on 100 RoIs'):
        assert part in proc.stdout
