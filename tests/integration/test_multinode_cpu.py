"""Two "machines" of one process each on 127.0.0.1: two tools/dist_train.sh runs with NNODES=2 and
NODE_RANK 0 and 1 (gloo on CPU) train as one job: the sampler splits the data between the ranks, the
parameters are identical on both after every step, one checkpoint is written. And --launcher slurm
starts the same process group from SLURM's variables."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
from reliability_utils import ROOT, child_env, dist_train_node, free_port, json_rows, make_data, write_config

from mmhrkpt.engine import slurm_environment

DIGEST = ("custom_hooks = [dict(type='FiniteLossHook', priority='VERY_HIGH'), "
          "dict(type='ParameterDigestHook', priority='LOWEST')]")
NUM_TRAIN = 8  # 2 ranks x 2 images x 2 iterations


@pytest.fixture(scope='module')
def two_nodes(tmp_path_factory):
    root = tmp_path_factory.mktemp('nodes')
    out, options = make_data(root / 'data', num_train=NUM_TRAIN)
    config = write_config(root / 'tiny.py', max_epochs=1, extra=DIGEST)
    work = root / 'work'
    port = free_port()
    nodes = [dist_train_node(config, work, options, 2, rank, port, '--seed', '0') for rank in (0, 1)]
    codes = []
    for node in nodes:
        try:
            codes.append(node.wait(timeout=600))
        except subprocess.TimeoutExpired:
            node.kill()
            codes.append(None)
    logs = {rank: (root / f'node{rank}.err').read_text()[-4000:] for rank in (0, 1)}
    train_images = {img['file_name'] for img in json.load(open(out['train']['ann_file']))['images']}
    return dict(work=work, codes=codes, logs=logs, train_images=train_images)


def _digests(work, rank):
    return [json.loads(line) for line in (work / f'digest_rank{rank}.jsonl').read_text().splitlines()]


def test_both_nodes_finish(two_nodes):
    assert two_nodes['codes'] == [0, 0], two_nodes['logs']


def test_parameters_identical_on_both_nodes(two_nodes):
    rank0, rank1 = _digests(two_nodes['work'], 0), _digests(two_nodes['work'], 1)
    assert [r['iter'] for r in rank0] == [r['iter'] for r in rank1] == [1, 2]
    for a, b in zip(rank0, rank1):
        assert a['sha1'] == b['sha1'] and a['sum'] == b['sum'], (a, b)
    assert rank0[0]['sha1'] != rank0[1]['sha1']


def test_the_sampler_splits_the_data_between_the_nodes(two_nodes):
    seen = [{f for row in _digests(two_nodes['work'], r) for f in row['files']} for r in (0, 1)]
    assert seen[0] and seen[1] and not seen[0] & seen[1]
    assert seen[0] | seen[1] == two_nodes['train_images']


def test_one_checkpoint_and_one_log(two_nodes):
    work = two_nodes['work']
    assert [p.name for p in work.glob('*.pth') if not p.is_symlink()] == ['epoch_1.pth']
    assert len(list(work.glob('*.log'))) == 1
    rows = json_rows(work)
    assert any(r.get('mode') == 'val' and 'keypoints_AP' in r for r in rows)


# ------------------------------------------------------------------------------------- SLURM
def test_slurm_environment_from_slurm_variables(tmp_path):
    env = dict(
        SLURM_PROCID='5',
        SLURM_NTASKS='8',
        SLURM_NODELIST='gpu[3-4]',
        SLURM_LOCALID='1',
        MASTER_ADDR='10.0.0.3')
    assert slurm_environment(
        env, num_gpus=4) == dict(
            RANK='5', WORLD_SIZE='8', LOCAL_RANK='1', MASTER_ADDR='10.0.0.3', MASTER_PORT='29500')
    # no SLURM_LOCALID: the rank modulo the node's GPUs (mmcv's rule), 0 on CPU
    del env['SLURM_LOCALID']
    assert slurm_environment(env, num_gpus=4, port=1234)['LOCAL_RANK'] == '1'
    assert slurm_environment(env, num_gpus=4, port=1234)['MASTER_PORT'] == '1234'
    assert slurm_environment(env, num_gpus=0)['LOCAL_RANK'] == '0'
    # no MASTER_ADDR: the first host scontrol expands the node list to
    fake_bin = tmp_path / 'bin'
    fake_bin.mkdir()
    scontrol = fake_bin / 'scontrol'
    scontrol.write_text('#!/bin/sh\n[ "$1 $2 $3" = "show hostnames gpu[3-4]" ] && printf "gpu3\\ngpu4\\n"\n')
    scontrol.chmod(0o755)
    del env['MASTER_ADDR']
    path = os.environ['PATH']
    os.environ['PATH'] = f'{fake_bin}{os.pathsep}{path}'
    try:
        assert slurm_environment(env, num_gpus=0)['MASTER_ADDR'] == 'gpu3'
    finally:
        os.environ['PATH'] = path
    with pytest.raises(RuntimeError, match='SLURM_PROCID'):
        slurm_environment({}, num_gpus=0)


SLURM_TASK = textwrap.dedent('''
    import torch, torch.distributed as dist
    from mmhrkpt.engine import init_distributed
    assert init_distributed('slurm')
    value = torch.tensor([float(dist.get_rank() + 1)])
    dist.all_reduce(value)
    print('RESULT', dist.get_rank(), dist.get_world_size(), dist.get_backend(), value.item())
    dist.destroy_process_group()
''')


def test_slurm_launcher_starts_the_process_group():
    port = free_port()
    procs = [
        subprocess.Popen([sys.executable, '-c', SLURM_TASK],
                         cwd=ROOT,
                         text=True,
                         stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE,
                         env=child_env(
                             SLURM_PROCID=str(rank),
                             SLURM_NTASKS='2',
                             SLURM_LOCALID=str(rank),
                             SLURM_NODELIST='localhost',
                             MASTER_ADDR='127.0.0.1',
                             MASTER_PORT=str(port),
                             CUDA_VISIBLE_DEVICES='')) for rank in (0, 1)
    ]
    outs = [proc.communicate(timeout=300) for proc in procs]
    results = sorted(line.split()[1:] for out, _ in outs for line in out.splitlines()
                     if line.startswith('RESULT'))
    assert results == [['0', '2', 'gloo', '3.0'], ['1', '2', 'gloo', '3.0']], outs


def test_slurm_scripts_hand_srun_the_job(tmp_path):
    """tools/slurm_train.sh and slurm_test.sh build mmdet's srun command (a fake srun records it)."""
    fake_bin = tmp_path / 'bin'
    fake_bin.mkdir()
    srun = fake_bin / 'srun'
    srun.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done > "$SRUN_LOG"\n')
    srun.chmod(0o755)
    log = tmp_path / 'srun.log'
    env = child_env(
        PATH=f"{fake_bin}{os.pathsep}{os.environ['PATH']}", SRUN_LOG=str(log), GPUS='16', PYTHON='python')
    subprocess.run(
        ['bash', str(ROOT / 'tools' / 'slurm_train.sh'), 'part', 'job', 'a.py', 'wd', '--seed', '0'],
        check=True,
        env=env)
    args = log.read_text().split('\n')
    assert args[:6] == ['-p', 'part', '--job-name=job', '--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8']
    assert args[args.index('a.py') - 1].endswith('tools/train.py')
    assert args[args.index('a.py'):-1] == ['a.py', '--work-dir=wd', '--launcher', 'slurm', '--seed', '0']
    env.update(GPUS_PER_NODE='0', TASKS='4', TASKS_PER_NODE='2')
    subprocess.run([
        'bash',
        str(ROOT / 'tools' / 'slurm_test.sh'), 'part', 'job', 'a.py', 'c.pth', '--eval', 'keypoints'
    ],
                   check=True,
                   env=env)
    args = log.read_text().split('\n')
    assert '--gres=gpu:8' not in args and '--ntasks=4' in args and '--ntasks-per-node=2' in args
    assert args[args.index('c.pth') + 1:args.index('c.pth') +
                5] == ['--launcher', 'slurm', '--eval', 'keypoints']
