"""Curves from mmcv JSON logs, saved as PNG:

    python tools/analyze_logs.py plot_curve work_dirs/x/*.log.json --keys loss keypoints_AP \
        --out curves.png
"""
import argparse

from mmhrkpt.core.log_analysis import plot_curves


def main():
    parser = argparse.ArgumentParser(description='Analyze training logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of the given keys')
    plot.add_argument('json_logs', nargs='+', help='*.log.json files')
    plot.add_argument('--keys', nargs='+', default=['loss', 'loss_keypoint', 'keypoints_AP'])
    plot.add_argument('--legend', nargs='+', default=None)
    plot.add_argument('--title', default=None)
    plot.add_argument('--out', required=True, help='output PNG')
    args = parser.parse_args()
    found = plot_curves(args.json_logs, args.keys, args.out, title=args.title, legend=args.legend)
    print(f'wrote {args.out} ({", ".join(found)})')


if __name__ == '__main__':
    main()
