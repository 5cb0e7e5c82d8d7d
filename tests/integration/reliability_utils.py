"""What the reliability tests share: a tiny config, generated data, tools/train.py as a
subprocess."""
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from mmhrkpt.testing.synthetic import generate_synthetic_coco

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
IMAGE_SIZE = (96, 96)

# The tiny model of tests/data/tiny_krcnn.py on 96x96 images resized to 96..128, with the atomic
# runner and the test hooks of reliability_hooks.py importable.
TINY_CONFIG = """
_base_ = '{base}'
custom_imports = dict(imports=['mmhrkpt', 'reliability_hooks'], allow_failed_imports=False)
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
META_KEYS = ('filename', 'ori_filename', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
             'flip', 'flip_direction', 'img_norm_cfg', 'keypoint_flip_pairs')
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='LoadKeypointAnnotations', with_bbox=True, with_keypoints=True),
    dict(type='KeypointResize', img_scale=[(96, 96), (128, 128)], multiscale_mode='range',
         keep_ratio=True),
    dict(type='KeypointRandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='KeypointFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_keypoints'],
         meta_keys=META_KEYS),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(96, 96), flip=False, transforms=[
        dict(type='Resize', keep_ratio=True),
        dict(type='RandomFlip'),
        dict(type='Normalize', **img_norm_cfg),
        dict(type='Pad', size_divisor=32),
        dict(type='ImageToTensor', keys=['img']),
        dict(type='Collect', keys=['img'], meta_keys=META_KEYS),
    ]),
]
data = dict(samples_per_gpu=2, workers_per_gpu=0,
            train=dict(pipeline=train_pipeline),
            val=dict(pipeline=test_pipeline),
            test=dict(pipeline=test_pipeline))
runner = dict(type='AtomicEpochBasedRunner', max_epochs={max_epochs})
lr_config = dict(warmup_iters=2, step=[1.0])
evaluation = dict(interval=1)
checkpoint_config = dict(interval=1, max_keep_ckpts=3)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
custom_hooks = [dict(type='FiniteLossHook', priority='VERY_HIGH')]
{extra}
"""


def write_config(path, max_epochs=2, extra=''):
    base = ROOT / 'tests' / 'data' / 'tiny_krcnn.py'
    Path(path).write_text(TINY_CONFIG.format(base=base, max_epochs=max_epochs, extra=extra))
    return str(path)


def make_data(root, num_train=4, num_val=2, seed=3):
    """Generated people in ``root`` (jpg, 96x96, every person labelled: at this size most are under
    COCO's 32x32 small-person area); returns the ``--cfg-options`` pointing at them."""
    out = generate_synthetic_coco(
        root,
        num_train=num_train,
        num_val=num_val,
        seed=seed,
        image_size=IMAGE_SIZE,
        max_persons=2,
        min_keypoint_area=0,
        preview=False,
        progress=False)
    return out, data_options(out['train']['ann_file'], out['train']['img_prefix'], out['val']['ann_file'],
                             out['val']['img_prefix'])


def data_options(train_ann, train_prefix, val_ann, val_prefix):
    return [
        f'data.train.ann_file={train_ann}', f'data.train.img_prefix={train_prefix}/',
        f'data.val.ann_file={val_ann}', f'data.val.img_prefix={val_prefix}/', f'data.test.ann_file={val_ann}',
        f'data.test.img_prefix={val_prefix}/'
    ]


def child_env(**extra):
    """One thread per process (deterministic, and kind to 2 cores); the test hooks importable."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join([str(HERE), str(ROOT)] +
                                        ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    env.pop('MMHRKPT_TRACEBACK', None)
    env.update(extra)
    return env


def train(config, work_dir, options, *args, cwd=None, timeout=600):
    """``python tools/train.py CONFIG --work-dir WORK ARGS --cfg-options OPTIONS``."""
    cmd = [
        sys.executable,
        str(ROOT / 'tools' / 'train.py'),
        str(config), '--work-dir',
        str(work_dir), *args, '--cfg-options', *options
    ]
    return subprocess.run(
        cmd, cwd=cwd or work_dir.parent, env=child_env(), capture_output=True, text=True, timeout=timeout)


def dist_train(config, work_dir, options, nproc=2, *args, timeout=600):
    """``bash tools/dist_train.sh CONFIG NPROC ...`` on a free port."""
    cmd = [
        'bash',
        str(ROOT / 'tools' / 'dist_train.sh'),
        str(config),
        str(nproc), '--work-dir',
        str(work_dir), *args, '--cfg-options', *options
    ]
    env = child_env(PORT=str(free_port()), PYTHON=sys.executable)
    return subprocess.run(cmd, cwd=work_dir.parent, env=env, capture_output=True, text=True, timeout=timeout)


def dist_train_node(config, work_dir, options, nnodes, node_rank, master_port, *args):
    """Start ``bash tools/dist_train.sh CONFIG 1 ...`` as node ``node_rank`` of ``nnodes`` meeting
    at 127.0.0.1:``master_port``; returns the running process (stdout and stderr to files in
    ``work_dir``'s folder)."""
    cmd = [
        'bash',
        str(ROOT / 'tools' / 'dist_train.sh'),
        str(config), '1', '--work-dir',
        str(work_dir), *args, '--cfg-options', *options
    ]
    env = child_env(
        PYTHON=sys.executable,
        NNODES=str(nnodes),
        NODE_RANK=str(node_rank),
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(master_port))
    env.pop('PORT', None)
    logs = [open(Path(work_dir).parent / f'node{node_rank}.{kind}', 'w') for kind in ('out', 'err')]
    return subprocess.Popen(
        cmd, cwd=Path(work_dir).parent, env=env, stdout=logs[0], stderr=logs[1], text=True)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def describe(proc):
    return (f'exit {proc.returncode}\n--- stdout (end)\n{proc.stdout[-3000:]}\n'
            f'--- stderr (end)\n{proc.stderr[-5000:]}')


def log_text(work_dir):
    logs = sorted(Path(work_dir).glob('*.log'))
    return '\n'.join(p.read_text() for p in logs)


def json_rows(work_dir):
    rows = []
    for path in sorted(Path(work_dir).glob('*.log.json')):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


KILLED = -signal.SIGKILL
