"""Curves and training time from mmcv JSON training logs:

    python tools/analysis_tools/analyze_logs.py plot_curve work_dirs/x/*.log.json \
        --keys loss keypoints_AP --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time work_dirs/x/*.log.json
"""
import argparse
import json
import sys
from collections import defaultdict

import numpy as np

from mmhrkpt.utils import run_reporting_errors


def load_json_log(path):
    """Parse an mmcv ``*.log.json``.

    Returns:
        dict: ``train`` and ``val``, each a dict of key -> (x, values) arrays, where x is the epoch
        position (train: ``epoch - 1 + iter / iters_in_epoch``; val: the epoch just finished).
    """
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            row = json.loads(line)
            if 'mode' in row and 'epoch' in row:
                rows.append(row)
    iters_in_epoch = defaultdict(int)
    for row in rows:
        if row['mode'] == 'train':
            iters_in_epoch[row['epoch']] = max(iters_in_epoch[row['epoch']], row['iter'])
    series = dict(train=defaultdict(lambda: ([], [])), val=defaultdict(lambda: ([], [])))
    for row in rows:
        mode = row['mode']
        if mode == 'train':
            x = row['epoch'] - 1 + row['iter'] / max(iters_in_epoch[row['epoch']], 1)
        else:
            x = row['epoch']
        for key, value in row.items():
            if key in ('mode', 'epoch', 'iter') or not isinstance(value, (int, float)):
                continue
            series[mode][key][0].append(x)
            series[mode][key][1].append(value)
    return {
        mode: {
            k: (np.asarray(xs), np.asarray(ys))
            for k, (xs, ys) in s.items()
        }
        for mode, s in series.items()
    }


def load_train_times(path):
    """The logged ``time`` (seconds per iteration, averaged over the logging interval) of every
    train row of an mmcv ``*.log.json``.

    Returns:
        dict[int, list[float]]: epoch -> its logged times, in log order.
    """
    times = defaultdict(list)
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            row = json.loads(line)
            if row.get('mode') == 'train' and 'time' in row and 'epoch' in row:
                times[row['epoch']].append(float(row['time']))
    return dict(times)


def train_time_stats(path, include_outliers=False):
    """mmdet's ``cal_train_time`` figures of one log.

    The first logged time of an epoch includes the data loader's start-up; it is left out unless
    ``include_outliers`` (or unless it is the epoch's only one).

    Returns:
        dict: ``slowest_epoch``, ``slowest`` (its mean s/iter), ``fastest_epoch``, ``fastest``,
        ``std`` (of the epochs' means), ``average`` (s/iter over all the kept times).
    """
    times = load_train_times(path)
    if not times:
        raise ValueError(f'{path} has no train rows with a "time": not an mmcv training log.json?')
    kept = {e: (t if include_outliers or len(t) == 1 else t[1:]) for e, t in sorted(times.items())}
    epochs = list(kept)
    means = np.array([np.mean(kept[e]) for e in epochs])
    return dict(
        slowest_epoch=epochs[int(means.argmax())],
        slowest=float(means.max()),
        fastest_epoch=epochs[int(means.argmin())],
        fastest=float(means.min()),
        std=float(means.std()),
        average=float(np.mean(np.concatenate(list(kept.values())))))


def cal_train_time(log_paths, include_outliers=False):
    """Print the training-time figures of each log (as mmdet's ``cal_train_time``)."""
    for path in log_paths:
        stats = train_time_stats(path, include_outliers)
        print(f'-----Analyze train time of {path}-----')
        print(f'slowest epoch {stats["slowest_epoch"]}, average time is {stats["slowest"]:.4f} s/iter')
        print(f'fastest epoch {stats["fastest_epoch"]}, average time is {stats["fastest"]:.4f} s/iter')
        print(f'time std over epochs is {stats["std"]:.4f}')
        print(f'average iter time: {stats["average"]:.4f} s/iter')


def plot_curves(log_paths, keys, out_file, title=None, legend=None):
    """One panel per key (train losses and val metrics alike), one line per log; saved as PNG.

    Returns:
        list[str]: the keys that were found and plotted.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

    logs = [load_json_log(p) for p in log_paths]
    legend = legend or [str(p) for p in log_paths]
    found = [k for k in keys if any(k in log['train'] or k in log['val'] for log in logs)]
    missing = [k for k in keys if k not in found]
    if not found:
        raise ValueError(f'none of the keys {keys} is in {log_paths}')
    fig, axes = plt.subplots(1, len(found), figsize=(4.5 * len(found), 3.6), squeeze=False)
    for ax, key in zip(axes[0], found):
        for log, name in zip(logs, legend):
            mode = 'train' if key in log['train'] else 'val'
            if key not in log[mode]:
                continue
            xs, ys = log[mode][key]
            ax.plot(xs, ys, marker='o' if mode == 'val' else None, markersize=4, label=name)
        ax.set_title(key)
        ax.set_xlabel('epoch')
        ax.grid(alpha=0.3)
        if len(logs) > 1:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    if missing:
        print(f'not in the log(s): {missing}')
    return found


def main():
    parser = argparse.ArgumentParser(description='Analyze training logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of the given keys')
    plot.add_argument('json_logs', nargs='+', help='*.log.json files')
    plot.add_argument('--keys', nargs='+', default=['loss', 'loss_keypoint', 'keypoints_AP'])
    plot.add_argument('--legend', nargs='+', default=None)
    plot.add_argument('--title', default=None)
    plot.add_argument('--out', required=True, help='output PNG')
    timing = sub.add_parser('cal_train_time', help='slowest/fastest epoch and average iteration time')
    timing.add_argument('json_logs', nargs='+', help='*.log.json files')
    timing.add_argument(
        '--include-outliers', action='store_true', help='keep the first logged time of each epoch')
    args = parser.parse_args()
    if args.task == 'cal_train_time':
        cal_train_time(args.json_logs, args.include_outliers)
        return
    found = plot_curves(args.json_logs, args.keys, args.out, title=args.title, legend=args.legend)
    print(f'wrote {args.out} ({", ".join(found)})')


if __name__ == '__main__':
    sys.exit(run_reporting_errors(main))
