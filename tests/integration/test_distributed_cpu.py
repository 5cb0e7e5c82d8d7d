"""Two processes on CPU (gloo) through tools/dist_train.sh: the data is sharded, the parameters
are identical on both ranks after every step, only rank 0 writes logs and checkpoints, and the
evaluation gathers the results of both; then tools/dist_test.sh evaluates on both ranks."""
import json
import os
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
from mmcv.parallel import DataContainer as DC
from reliability_utils import (ROOT, child_env, describe, dist_train, free_port, json_rows, make_data,
                               write_config)

from mmhrkpt.engine import MMDistributedDataParallelCompat

DIGEST = ("custom_hooks = [dict(type='FiniteLossHook', priority='VERY_HIGH'), "
          "dict(type='ParameterDigestHook', priority='LOWEST')]")
NUM_TRAIN = 8  # 2 ranks x 2 images x 2 iterations


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    out, options = make_data(root / 'data', num_train=NUM_TRAIN)
    config = write_config(root / 'tiny.py', max_epochs=1, extra=DIGEST)
    proc = dist_train(config, root / 'work', options, 2, '--seed', '0')
    return dict(
        root=root,
        work=root / 'work',
        proc=proc,
        config=config,
        options=options,
        train_images={img['file_name']
                      for img in json.load(open(out['train']['ann_file']))['images']})


def _digests(work, rank):
    path = work / f'digest_rank{rank}.jsonl'
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_ranks_train(dist_run):
    assert dist_run['proc'].returncode == 0, describe(dist_run['proc'])


def test_parameters_are_identical_after_every_step(dist_run):
    rank0, rank1 = _digests(dist_run['work'], 0), _digests(dist_run['work'], 1)
    assert [r['iter'] for r in rank0] == [r['iter'] for r in rank1] == [1, 2]
    for a, b in zip(rank0, rank1):
        assert a['sha1'] == b['sha1'] and a['sum'] == b['sum'], (a, b)
    assert rank0[0]['sha1'] != rank0[1]['sha1']  # and they did change


def test_the_data_is_sharded(dist_run):
    seen = [{f for row in _digests(dist_run['work'], r) for f in row['files']} for r in (0, 1)]
    assert not seen[0] & seen[1]
    assert seen[0] | seen[1] == dist_run['train_images']


def test_only_rank_0_writes_logs_and_checkpoints(dist_run):
    work = dist_run['work']
    assert len(list(work.glob('*.log'))) == 1 and len(list(work.glob('*.log.json'))) == 1
    assert (work / 'epoch_1.pth').exists() and os.path.realpath(work / 'latest.pth').endswith('epoch_1.pth')
    # the evaluation gathered the results of both ranks (2 val images, one per rank)
    val = [r for r in json_rows(work) if r.get('mode') == 'val']
    assert len(val) == 1 and 'keypoints_AP' in val[0] and 'bbox_mAP' in val[0]
    assert not (work / '.eval_hook').exists()  # the gathering folder was removed


def test_dist_test_evaluates_on_two_ranks(dist_run):
    eval_dir = dist_run['root'] / 'eval'
    cmd = [
        'bash',
        str(ROOT / 'tools' / 'dist_test.sh'), dist_run['config'],
        str(dist_run['work'] / 'latest.pth'), '2', '--eval', 'bbox', 'keypoints', '--work-dir',
        str(eval_dir), '--cfg-options', *dist_run['options']
    ]
    proc = subprocess.run(
        cmd,
        cwd=dist_run['root'],
        capture_output=True,
        text=True,
        timeout=600,
        env=child_env(PORT=str(free_port()), PYTHON=sys.executable))
    assert proc.returncode == 0, describe(proc)
    (result, ) = list(eval_dir.glob('eval_*.json'))
    metric = json.loads(result.read_text())['metric']
    assert 0.0 <= metric['keypoints_AP'] <= 1.0 and 0.0 <= metric['bbox_mAP'] <= 1.0


class _Toy(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, x, img_metas=None):
        assert torch.is_tensor(x), f'the model got {type(x).__name__}'
        return self.fc(x)

    def train_step(self, data, optimizer):
        return dict(loss=self(**data).sum())


@pytest.fixture
def gloo_world_of_one(tmp_path):
    dist.init_process_group('gloo', init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_wrapper_scatters_data_containers_on_cpu(gloo_world_of_one):
    """mmcv 1.7.2's MMDistributedDataParallel hands DataContainers to the model on CPU, and its
    forward reads an attribute torch 2.x no longer has; the compat wrapper does neither."""
    batch = dict(x=DC(torch.ones(3, 2), stack=True), img_metas=DC([{}], cpu_only=True))
    model = MMDistributedDataParallelCompat(_Toy())
    loss = model.train_step(batch, None)['loss']
    loss.backward()  # the reducer all-reduces the gradients
    assert model.module.fc.weight.grad is not None
    assert model(**batch).shape == (3, 1)
