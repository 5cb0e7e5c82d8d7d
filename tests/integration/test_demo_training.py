"""What the demo config adds to a training run, through tools/train.py on the tiny model and a generated
set of another size than the demo's: the progress lines, the LR steps at the same fractions of the
training, a numerically unchanged training, and ``--cfg-options cpu_bf16=True``."""
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mmhrkpt.testing.synthetic import generate_synthetic_coco
from mmhrkpt.utils import cpu_bf16_support

ROOT = Path(__file__).resolve().parents[2]
DEMO_FRACTIONS = (1190 / 1500, 1425 / 1500)

# The tiny model with the demo's schedule (FractionStep) and progress hook, 3 epochs, evaluated after
# epochs 1 and 3.
CONFIG = """
_base_ = '{base}'
data = dict(samples_per_gpu=2, workers_per_gpu=0)
runner = dict(type='AtomicEpochBasedRunner', max_epochs=3)
lr_config = dict(warmup_iters=2)
evaluation = dict(interval=2, start=1)
checkpoint_config = dict(interval=3)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
custom_hooks = [
    dict(type='FiniteLossHook', priority='VERY_HIGH'),
    {progress}
]
"""


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo_training')
    data = root / 'data'
    generate_synthetic_coco(
        data,
        num_train=10,
        num_val=2,
        seed=5,
        image_size=(128, 128),
        min_keypoint_area=0,
        preview=False,
        progress=False)
    base = ROOT / 'tests' / 'data' / 'tiny_krcnn.py'
    configs = {}
    for name, progress in (('progress', "dict(type='TrainingProgressHook', estimate_after=3),"), ('plain',
                                                                                                  '')):
        configs[name] = root / f'{name}.py'
        configs[name].write_text(CONFIG.format(base=base, progress=progress))
    options = []
    for split, name in (('train', 'train'), ('val', 'val'), ('test', 'val')):
        options += [
            f'data.{split}.ann_file={data}/annotations/person_keypoints_{name}.json',
            f'data.{split}.img_prefix={data}/images/{name}/'
        ]
    return dict(root=root, configs=configs, options=options)


def _train(setup, config, work, extra=()):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    cmd = [
        sys.executable,
        str(ROOT / 'tools' / 'train.py'),
        str(setup['configs'][config]), '--work-dir',
        str(setup['root'] / work), '--seed', '0', '--cfg-options'
    ] + setup['options'] + list(extra)
    proc = subprocess.run(cmd, cwd=setup['root'], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    log = next((setup['root'] / work).glob('*.log.json'))
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return proc.stdout + proc.stderr, [r for r in rows if r.get('mode') == 'train']


@pytest.fixture(scope='module')
def progress_run(setup):
    return _train(setup, 'progress', 'work_progress')


def test_progress_lines(progress_run):
    out, rows = progress_run
    lines = [line[line.index('[progress]'):] for line in out.splitlines() if '[progress]' in line]
    iters = max(r['iter'] for r in rows)
    assert len(lines) == 5, lines  # start, estimate, 3 epochs
    assert re.search(
        rf'training on .+ torch threads?\): {3 * iters} of {3 * iters} iterations '
        rf'\(3 epochs of {iters}\), 2 evaluations \(after epochs 1, 3\)', lines[0]), lines[0]
    assert re.match(
        rf'\[progress\] 3/{3 * iters} iterations, \d+\.\d\d s each: about .+ of training '
        r'left \+ 2 evaluations, not yet timed', lines[1]), lines[1]
    # the AP of the epoch's evaluation reaches the line (the hook runs after the evaluation hook)
    assert re.match(
        r'\[progress\] epoch 1/3 done in .+, evaluation .+\): keypoints_AP \d\.\d{3} '
        r'\(epoch 1\); about .+ left \(1 evaluation of .+ included\), done at ~', lines[2])
    assert re.match(r'\[progress\] epoch 2/3 done in .+ s/iter\): keypoints_AP \d\.\d{3} \(epoch 1\)',
                    lines[3]), lines[3]
    assert 'epoch 3/3' in lines[4] and lines[4].endswith('training finished')


def test_lr_steps_at_the_demo_fractions_of_another_dataset_size(progress_run):
    _, rows = progress_run
    iters = max(r['iter'] for r in rows)
    total = 3 * iters
    lrs = [r['lr'] for r in sorted(rows, key=lambda r: (r['epoch'], r['iter']))]
    assert len(lrs) == total and total != 1500
    steps = [i for i in range(1, total) if lrs[i] < 0.5 * lrs[i - 1]]
    assert steps == [math.floor(f * total + 0.5) for f in DEMO_FRACTIONS], (steps, total)
    for step, fraction in zip(steps, DEMO_FRACTIONS):
        assert abs(step / total - fraction) <= 0.5 / total


def test_the_progress_hook_changes_nothing_in_training(setup, progress_run):
    _, with_hook = progress_run
    _, without = _train(setup, 'plain', 'work_plain')
    keys = ('loss', 'loss_keypoint', 'loss_cls', 'loss_bbox', 'loss_rpn_cls', 'lr')
    assert [[r[k] for k in keys] for r in with_hook] == [[r[k] for k in keys] for r in without]


def test_cpu_bf16_from_the_command_line(setup, progress_run):
    out, rows = _train(setup, 'progress', 'work_bf16', extra=['cpu_bf16=True'])
    supported, reason = cpu_bf16_support()
    if supported:
        assert 'cpu_bf16: bfloat16 autocast in training for backbone, neck, rpn_head' in out
    else:
        assert f'cpu_bf16=True refused, training in float32: {reason}' in out
    assert all(math.isfinite(r['loss']) for r in rows)
    _, ref = progress_run
    # same weights and data at the first iteration: the bf16 losses stay close to float32's
    assert rows[0]['loss'] == pytest.approx(ref[0]['loss'], rel=0.05)
