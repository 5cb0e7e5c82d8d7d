"""The table of a study made by ``tools/misc/run_study.sh``: one row per run, the seed spread per variant.

    python tools/misc/study_table.py STUDY_DIR [--out PREFIX]

Each run folder of STUDY_DIR holds ``run_spec.txt`` (its line of run_study.sh), the ``eval_*.json`` of
``tools/test.py --eval bbox keypoints``, ``errors/errors.csv`` and ``errors/ap_cost.csv`` of
``tools/analysis_tools/analyze_results.py`` and, for trained runs, ``train_seconds``. Written: PREFIX.md
(the markdown table, also printed), PREFIX.json (the same figures) and PREFIX.png (keypoint AP and box mAP
per run, the runs of one variant side by side). A run folder without an evaluation is named and skipped.
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp
import sys
from collections import OrderedDict

ERROR_TYPES = ('good', 'jitter', 'inversion', 'swap', 'miss')
METRICS = (('kp_AP', 'keypoints_AP'), ('kp_AP50', 'keypoints_AP50'), ('kp_AP75', 'keypoints_AP75'),
           ('kp_AR', 'keypoints_AR'), ('box_mAP', 'bbox_mAP'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='table of a run_study.sh study')
    parser.add_argument('study_dir')
    parser.add_argument('--out', help='output prefix (default STUDY_DIR/study)')
    return parser.parse_args(argv)


def variant_of(name):
    """``udp_s1`` -> ``udp``; ``onehot_s0_rescore`` -> ``onehot_rescore`` (seed suffix dropped)."""
    parts = name.split('_')
    return '_'.join(p for p in parts if not (p.startswith('s') and p[1:].isdigit()))


def read_run(folder):
    """The figures of one run folder, or None (with the reason printed) when it has no evaluation."""
    name = osp.basename(folder.rstrip('/'))
    evals = sorted(glob.glob(osp.join(folder, 'eval_*.json')))
    if not evals:
        print(f'skipped {folder}: no eval_*.json (run not finished)', file=sys.stderr)
        return None
    with open(evals[-1]) as f:
        metric = json.load(f)['metric']
    missing = [key for _, key in METRICS if key not in metric]
    if missing:
        raise ValueError(f'{evals[-1]}: no {", ".join(missing)} (evaluated without --eval bbox keypoints?)')
    row = OrderedDict(name=name, variant=variant_of(name))
    spec_file = osp.join(folder, 'run_spec.txt')
    if osp.exists(spec_file):
        with open(spec_file) as f:
            words = f.read().split()
        row['config'], row['seed'] = words[1], int(words[2])
        row['eval_options'] = words[3:]
    row.update((short, float(metric[key])) for short, key in METRICS)
    seconds = osp.join(folder, 'train_seconds')
    row['train_seconds'] = int(open(seconds).read()) if osp.exists(seconds) else None
    errors = osp.join(folder, 'errors', 'errors.csv')
    if osp.exists(errors):
        with open(errors) as f:
            overall = [r for r in csv.DictReader(f) if r['keypoint'] == 'all']
        if overall:
            row.update((f'{t}_fraction', float(overall[0][f'{t}_fraction'])) for t in ERROR_TYPES)
    ap_cost = osp.join(folder, 'errors', 'ap_cost.csv')
    if osp.exists(ap_cost):
        with open(ap_cost) as f:
            row.update((f'dAP_{r["corrected"]}', float(r['dAP'])) for r in csv.DictReader(f)
                       if r['corrected'] in ERROR_TYPES[1:])
    return row


def spread(rows):
    """Per variant: runs, mean keypoint AP and its range (max - min) over seeds."""
    variants = OrderedDict()
    for row in rows:
        variants.setdefault(row['variant'], []).append(row['kp_AP'])
    return OrderedDict((v, dict(runs=len(aps), mean=sum(aps) / len(aps), range=max(aps) - min(aps)))
                       for v, aps in variants.items())


def markdown(rows, spreads):
    head = ('| run | keypoint AP / AP50 / AP75 / AR | box mAP | errors: jitter / inversion / swap / miss '
            '(share of keypoints) | AP they cost | training |')
    lines = [head, '|' + '---|' * 6]
    for r in rows:
        errors = (' / '.join(f'{100 * r[t + "_fraction"]:.1f} %'
                             for t in ERROR_TYPES[1:]) if 'miss_fraction' in r else 'n/a')
        cost = (' / '.join(f'{r["dAP_" + t]:+.3f}' for t in ERROR_TYPES[1:]) if 'dAP_miss' in r else 'n/a')
        train = f'{r["train_seconds"]} s' if r.get('train_seconds') else 'evaluation only'
        lines.append(f'| {r["name"]} | {r["kp_AP"]:.3f} / {r["kp_AP50"]:.3f} / {r["kp_AP75"]:.3f} / '
                     f'{r["kp_AR"]:.3f} | {r["box_mAP"]:.3f} | {errors} | {cost} | {train} |')
    lines += ['', '| variant | runs | mean keypoint AP | range over seeds |', '|---|---|---|---|']
    for v, s in spreads.items():
        span = f'{s["range"]:.3f}' if s['runs'] > 1 else '(one seed)'
        lines.append(f'| {v} | {s["runs"]} | {s["mean"]:.3f} | {span} |')
    return '\n'.join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(rows)), 4))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r['kp_AP'] for r in rows], width=0.4, label='keypoint AP')
    ax.bar([x + 0.2 for x in xs], [r['box_mAP'] for r in rows], width=0.4, label='box mAP')
    for x, r in zip(xs, rows):
        ax.text(x - 0.2, r['kp_AP'] + 0.01, f'{r["kp_AP"]:.3f}', ha='center', fontsize=7)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([r['name'] for r in rows], rotation=30, ha='right', fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel('COCO metric on the synthetic val split')
    ax.legend(loc='upper right', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    out = args.out or osp.join(args.study_dir, 'study')
    folders = sorted(d for d in glob.glob(osp.join(args.study_dir, '*')) if osp.isdir(d))
    rows = [r for r in (read_run(d) for d in folders) if r is not None]
    if not rows:
        raise SystemExit(f'{args.study_dir}: no evaluated run folder')
    rows.sort(key=lambda r: (r['variant'], r['name']))
    spreads = spread(rows)
    table = markdown(rows, spreads)
    print(table)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out + '.md', 'w') as f:
        f.write(table + '\n')
    with open(out + '.json', 'w') as f:
        json.dump(dict(runs=rows, spread=spreads), f, indent=1)
    plot(rows, out + '.png')
    print(f'wrote {out}.md, {out}.json, {out}.png')


if __name__ == '__main__':
    main()
