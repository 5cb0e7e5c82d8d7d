"""Gather what tools/misc/gpu_check.sh measured into one JSON.

    python tools/misc/gpu_check_report.py WORK_DIR OUT.json

Reads ``WORK_DIR/steps.tsv`` (name, exit status, milliseconds, log file per step), the pytest junit
file of the CUDA tests, the training logs (``train_fp32`` / ``train_fp16``: seconds per iteration, last
losses, keypoint AP) and the benchmark JSONs (``bench_{train,infer}_{fp32,fp16}.json``). Exit status 1
when a step failed, 0 otherwise.
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import xml.etree.ElementTree as ET
from collections import OrderedDict

BENCHMARKS = ('bench_train_fp32', 'bench_train_fp16', 'bench_infer_fp32', 'bench_infer_fp16')
TRAININGS = ('train_fp32', 'train_fp16')


def read_steps(path):
    steps = OrderedDict()
    if not osp.exists(path):
        return steps
    with open(path) as f:
        for line in f:
            name, status, millis, log = line.rstrip('\n').split('\t')
            steps[name] = OrderedDict(
                exit_status=int(status), seconds=int(millis) / 1e3, log=log, passed=int(status) == 0)
    return steps


def read_junit(path):
    """Counts of the pytest run (tests, failures, errors, skipped) and the failed tests' names."""
    if not osp.exists(path):
        return None
    root = ET.parse(path).getroot()
    suite = root if root.tag == 'testsuite' else root.find('testsuite')
    failed = [
        f"{case.get('classname')}.{case.get('name')}" for case in suite.iter('testcase')
        if case.find('failure') is not None or case.find('error') is not None
    ]
    counts = OrderedDict((key, int(suite.get(key, 0))) for key in ('tests', 'failures', 'errors', 'skipped'))
    counts['failed'] = failed
    return counts


def read_training(work_dir):
    """Seconds per iteration (median of the logged ones), the last losses and the keypoint AP."""
    logs = sorted(f for f in os.listdir(work_dir) if f.endswith('.log.json')) if osp.isdir(work_dir) else []
    if not logs:
        return None
    rows = [json.loads(line) for line in open(osp.join(work_dir, logs[-1])) if line.strip()]
    train = [r for r in rows if r.get('mode') == 'train']
    val = [r for r in rows if r.get('mode') == 'val']
    times = sorted(r['time'] for r in train if 'time' in r)
    last = train[-1] if train else {}
    return OrderedDict(
        iterations=len(train),
        seconds_per_iter_median=times[len(times) // 2] if times else None,
        last_loss=last.get('loss'),
        last_loss_keypoint=last.get('loss_keypoint'),
        keypoints_AP=val[-1].get('keypoints_AP') if val else None,
        memory_mb=last.get('memory'))


def main(argv=None):
    parser = argparse.ArgumentParser(description='gather the GPU check into one JSON')
    parser.add_argument('work_dir')
    parser.add_argument('out')
    args = parser.parse_args(argv)
    steps = read_steps(osp.join(args.work_dir, 'steps.tsv'))
    report = OrderedDict(
        steps=steps, passed=all(s['passed'] for s in steps.values()), python=platform.python_version())
    report['cuda_tests'] = read_junit(osp.join(args.work_dir, 'cuda_tests.xml'))
    report['training'] = OrderedDict(
        (name, read_training(osp.join(args.work_dir, name))) for name in TRAININGS)
    report['benchmarks'] = OrderedDict()
    for name in BENCHMARKS:
        path = osp.join(args.work_dir, f'{name}.json')
        if osp.exists(path):
            with open(path) as f:
                report['benchmarks'][name] = json.load(f)
    machine = next((b['machine'] for b in report['benchmarks'].values() if 'machine' in b), None)
    report['machine'] = machine
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=1)
    failed = [name for name, step in steps.items() if not step['passed']]
    print(f"gpu_check: {len(steps) - len(failed)}/{len(steps)} steps passed" +
          (f"; failed: {', '.join(failed)}" if failed else '') + f'; report {args.out}')
    return 1 if failed or not steps else 0


if __name__ == '__main__':
    sys.exit(main())
