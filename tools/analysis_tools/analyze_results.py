"""Which images and which keypoints a model gets wrong, and how much AP each kind of error costs:

    python tools/analysis_tools/analyze_results.py CONFIG RESULTS --out-dir DIR [--topk 5]

RESULTS is the pickle of ``tools/test.py --out`` or a COCO keypoint results json (``tools/test.py
--format-only``), for the test set of CONFIG. Written to DIR:

- ``best/``, ``worst/``: the ``--topk`` images of highest and lowest mean OKS of their matched persons,
  ground truth | prediction;
- ``errors.txt``, ``errors.csv``, ``errors.png``: every labelled keypoint of every matched prediction
  as good / jitter / inversion / swap / miss (Ronchi & Perona, ICCV 2017; the definitions are in
  ``mmhrkpt/core/evaluation/error_analysis.py``), per keypoint name and overall;
- ``ap_cost.csv``, ``ap_cost.png`` (and in ``errors.txt``): keypoint AP, APm, APl as they are and
  after correcting each error type, i.e. how much AP each type costs;
- ``image_oks.csv``: the mean OKS of every image with a person.
"""
import argparse
import csv
import os.path as osp
import sys

import mmcv
import numpy as np
from mmcv import Config, DictAction
from mmdet.datasets import build_dataset

import mmhrkpt  # noqa: F401  (registers mmhrkpt's modules)
from mmhrkpt.core.evaluation import (ERROR_TYPES, analyze_keypoint_errors, ap_of_corrections, error_counts,
                                     keypoint_results_to_json)
from mmhrkpt.core.evaluation.error_analysis import COCO_KEYPOINT_STATS, MATCH_OKS
from mmhrkpt.core.visualization import imshow_keypoints, label_image
from mmhrkpt.datasets.keypoint_meta import PIXEL_CENTER_OFFSET
from mmhrkpt.utils import run_reporting_errors

# One colour per error type in the charts (matplotlib names), good to miss.
ERROR_COLORS = ('tab:green', 'gold', 'tab:orange', 'tab:purple', 'tab:red')
AP_COLUMNS = ('AP', 'AP50', 'AP75', 'APm', 'APl', 'AR')
CORRECTIONS = ('original', 'jitter', 'inversion', 'swap', 'miss', 'all')


def parse_args():
    parser = argparse.ArgumentParser(description='Keypoint error analysis of test results')
    parser.add_argument('config', help='the config whose data.test the results are of')
    parser.add_argument('results', help='tools/test.py --out pickle, or COCO keypoint results json')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--topk', type=int, default=5, help='best and worst images drawn')
    parser.add_argument('--score-thr', type=float, default=0.3, help='predictions drawn from this score')
    parser.add_argument(
        '--match-thr',
        type=float,
        default=MATCH_OKS,
        help='the OKS a prediction needs to be matched and diagnosed')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    if args.topk < 0:
        parser.error('--topk must be >= 0')
    return args


def load_results(path, dataset):
    """COCO keypoint results (pixel-index keypoints, as ``keypoint_results_to_json`` writes) of a
    ``tools/test.py --out`` pickle or a results json, checked against ``dataset``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'results file {path} does not exist')
    results = mmcv.load(path)
    if path.endswith('.pkl'):
        if not isinstance(results, list) or (results and not isinstance(results[0], tuple)):
            raise ValueError(f'{path}: expected the list of (bbox_results, keypoint_results) per image '
                             'that tools/test.py --out writes')
        if len(results) != len(dataset):
            raise ValueError(f'{path} has results for {len(results)} images but the test set '
                             f'{dataset.ann_file} has {len(dataset)}: the results of another dataset?')
        return keypoint_results_to_json(results, dataset.img_ids, dataset.cat_ids, dataset.num_keypoints)
    if not isinstance(results, list) or any(
            not isinstance(r, dict) or not {'image_id', 'keypoints', 'score'} <= set(r) for r in results):
        raise ValueError(f'{path}: expected a COCO keypoint results json, a list of entries with '
                         'image_id, keypoints and score')
    unknown = sorted({r['image_id'] for r in results} - set(dataset.img_ids))
    if unknown:
        raise ValueError(f'{path}: image ids {unknown[:10]} are not in the test set {dataset.ann_file}')
    return results


def error_table(counts, names):
    """Rows of (name, labelled, count per type, fraction per type), per keypoint then 'all'."""
    rows = []
    for name, row in list(zip(names, counts)) + [('all', counts.sum(0))]:
        total = int(row.sum())
        rows.append([name, total] + [int(c) for c in row] + [float(c) / total if total else 0.0 for c in row])
    return rows


def format_error_table(rows):
    width = max(len(r[0]) for r in rows)
    head = f'{"keypoint":<{width}} {"labelled":>8} ' + ' '.join(f'{t:>9}' for t in ERROR_TYPES)
    lines = [head, '-' * len(head)]
    for r in rows:
        cells = ' '.join(f'{c:>4} {100 * f:3.0f}%' for c, f in zip(r[2:7], r[7:]))
        lines.append(f'{r[0]:<{width}} {r[1]:>8} {cells}')
    return '\n'.join(lines)


def format_ap_table(stats):
    head = f'{"corrected":<10} ' + ' '.join(f'{c:>6}' for c in AP_COLUMNS) + f' {"dAP":>7}'
    lines = [head, '-' * len(head)]
    base = stats['original'][0]
    for name in CORRECTIONS:
        values = ' '.join(f'{stats[name][COCO_KEYPOINT_STATS.index(c)]:6.3f}' for c in AP_COLUMNS)
        lines.append(f'{"none" if name == "original" else name:<10} {values} {stats[name][0] - base:+7.3f}')
    return '\n'.join(lines)


def plot_errors(rows, out_file):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.4))
    names = [r[0] for r in rows][::-1]
    left = np.zeros(len(rows))
    for t, (error, color) in enumerate(zip(ERROR_TYPES, ERROR_COLORS)):
        frac = np.array([r[7 + t] for r in rows][::-1])
        ax.barh(names, frac, left=left, color=color, label=error)
        left += frac
    ax.set_xlim(0, 1)
    ax.set_xlabel('fraction of labelled keypoints of matched predictions')
    ax.legend(ncol=5, fontsize=8, loc='lower center', bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def plot_ap_cost(stats, out_file):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
    names = [n for n in CORRECTIONS if n != 'original']
    gains = [stats[n][0] - stats['original'][0] for n in names]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(names, gains, color=list(ERROR_COLORS[1:]) + ['tab:gray'])
    ax.set_ylabel('AP gained by correcting it')
    ax.set_title(f'keypoint AP {stats["original"][0]:.3f} as predicted')
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def _to_drawing(keypoints, num_keypoints):
    """COCO (pixel-index) keypoints -> np.ndarray[n, K, 3] in the continuous frame of the drawer."""
    kpts = np.asarray(keypoints, dtype=np.float32).reshape(-1, num_keypoints, 3).copy()
    kpts[..., :2] += PIXEL_CENTER_OFFSET
    return kpts


def draw_image(dataset, img_id, results, mean_oks, score_thr, out_file):
    """Ground truth | predictions of one image, as ``draw_predictions`` pictures it."""
    coco, k = dataset.coco, dataset.num_keypoints
    info = coco.loadImgs([img_id])[0]
    img = mmcv.imread(osp.join(dataset.img_prefix or '', info['file_name']))
    anns = [
        a for a in coco.loadAnns(coco.getAnnIds(imgIds=[img_id], catIds=dataset.cat_ids))
        if not a.get('iscrowd', 0)
    ]
    boxes = np.asarray([a['bbox'] for a in anns], dtype=np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    gt_kpts = _to_drawing([a['keypoints'] for a in anns], k)
    gt_kpts[gt_kpts[..., 2] == 0] = 0
    gt = imshow_keypoints(
        img, boxes, gt_kpts, skeleton=dataset.skeleton, keypoint_names=dataset.keypoint_names, kpt_thr=0)
    preds = [r for r in results if r['score'] >= score_thr]
    kpts = _to_drawing([r['keypoints'] for r in preds], k)
    if preds and all('bbox' in r for r in preds):
        pred_boxes = np.asarray([r['bbox'] for r in preds], dtype=np.float32)
        pred_boxes[:, 2:] += pred_boxes[:, :2]
    else:  # the official keypoint results format has no box: the keypoints' extent
        pred_boxes = np.concatenate([kpts[..., :2].min(1), kpts[..., :2].max(1)], 1).reshape(-1, 4)
    pred_boxes = np.concatenate(
        [pred_boxes, np.asarray([[r['score']] for r in preds], dtype=np.float32).reshape(-1, 1)], 1)
    pred = imshow_keypoints(
        img,
        pred_boxes,
        kpts,
        skeleton=dataset.skeleton,
        keypoint_names=dataset.keypoint_names,
        score_thr=score_thr)
    label_image(gt, 'ground truth')
    label_image(pred, f'prediction, mean OKS {mean_oks:.2f}')
    mmcv.imwrite(np.concatenate([gt, pred], axis=1), out_file)


def draw_ranked(dataset, results, image_oks, topk, score_thr, out_dir):
    """Draw the ``topk`` best and worst images by mean OKS; returns the files written."""
    by_image = {}
    for r in results:
        by_image.setdefault(r['image_id'], []).append(r)
    ranked = sorted(image_oks.items(), key=lambda item: (-item[1], item[0]))
    picks = [('best', ranked[:topk]), ('worst', ranked[::-1][:topk])]
    files = []
    progress = mmcv.ProgressBar(sum(len(p) for _, p in picks))
    for folder, items in picks:
        for rank, (img_id, mean_oks) in enumerate(items, 1):
            stem = osp.splitext(osp.basename(dataset.coco.loadImgs([img_id])[0]['file_name']))[0]
            out_file = osp.join(out_dir, folder, f'{rank:02d}_oks{mean_oks:.2f}_{stem}.png')
            draw_image(dataset, img_id, by_image.get(img_id, []), mean_oks, score_thr, out_file)
            files.append(out_file)
            progress.update()
    print()
    return files


def write_csv(path, header, rows):
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def main(args):
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    dataset = build_dataset(cfg.data.test, dict(test_mode=True))
    results = load_results(args.results, dataset)
    mmcv.mkdir_or_exist(args.out_dir)

    print(f'matching and classifying the keypoints of {len(results)} predictions on '
          f'{len(dataset)} images (OKS >= {args.match_thr})')
    analysis = analyze_keypoint_errors(
        dataset.coco,
        results,
        dataset.sigmas,
        dataset.flip_pairs,
        dataset.img_ids,
        dataset.cat_ids,
        match_thr=args.match_thr)
    rows = error_table(error_counts(analysis['labels'], dataset.num_keypoints), dataset.keypoint_names)
    print('COCOeval of the results as they are and with each error type corrected (6 runs)')
    stats = ap_of_corrections(dataset.coco, results, analysis, dataset.sigmas, dataset.img_ids,
                              dataset.cat_ids)

    matched = len(analysis['oks'])
    summary = (f'{args.results}: {len(results)} predictions, {matched} matched to a person '
               f'(OKS >= {args.match_thr}), mean OKS of the matches '
               f'{float(np.mean(analysis["oks"])) if matched else 0.0:.3f}\n\n'
               f'Keypoint errors (count and share of the labelled keypoints of matched predictions)\n'
               f'{format_error_table(rows)}\n\n'
               f'Keypoint AP after correcting each error type (dAP: what the type costs)\n'
               f'{format_ap_table(stats)}\n')
    print(summary)
    with open(osp.join(args.out_dir, 'errors.txt'), 'w') as f:
        f.write(summary)
    write_csv(
        osp.join(args.out_dir, 'errors.csv'),
        ['keypoint', 'labelled'] + list(ERROR_TYPES) + [f'{t}_fraction' for t in ERROR_TYPES], rows)
    write_csv(
        osp.join(args.out_dir, 'ap_cost.csv'), ['corrected'] + list(COCO_KEYPOINT_STATS) + ['dAP'],
        [[n] + stats[n].tolist() + [stats[n][0] - stats['original'][0]] for n in CORRECTIONS])
    write_csv(
        osp.join(args.out_dir, 'image_oks.csv'), ['image_id', 'file_name', 'mean_oks'],
        [[i, dataset.coco.loadImgs([i])[0]['file_name'], v]
         for i, v in sorted(analysis['image_oks'].items(), key=lambda item: -item[1])])
    plot_errors(rows, osp.join(args.out_dir, 'errors.png'))
    plot_ap_cost(stats, osp.join(args.out_dir, 'ap_cost.png'))
    files = draw_ranked(dataset, results, analysis['image_oks'], args.topk, args.score_thr, args.out_dir)
    print(f'wrote errors.txt, errors.csv, errors.png, ap_cost.csv, ap_cost.png, image_oks.csv and '
          f'{len(files)} pictures to {args.out_dir}')


if __name__ == '__main__':
    sys.exit(run_reporting_errors(main, parse_args()))
