"""AtomicEpochBasedRunner: checkpoints appear whole or not at all, latest.pth always points at a
whole one, NaN weights are never written, and find_latest_checkpoint passes over broken files."""
import logging
import os
import random
import shutil

import numpy as np
import pytest
import torch
from mmcv.fileio.file_client import HardDiskBackend
from mmcv.runner import Hook
from mmdet.utils import find_latest_checkpoint as mmdet_find_latest_checkpoint

from mmhrkpt.engine import (AtomicEpochBasedRunner, AtomicIterBasedRunner, find_latest_checkpoint,
                            get_rng_state, is_complete_checkpoint, set_rng_state)


class _Toy(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def train_step(self, data, optimizer):
        return dict(loss=self.fc(data).sum())


def _runner(work_dir, epoch=0):
    model = _Toy()
    runner = AtomicEpochBasedRunner(
        model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(work_dir),
        logger=logging.getLogger('atomic'),
        max_epochs=10)
    runner._epoch = epoch
    return runner


def test_a_failed_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    runner = _runner(tmp_path)
    runner.save_checkpoint(str(tmp_path))
    assert os.readlink(tmp_path / 'latest.pth') == 'epoch_1.pth'

    def half_then_crash(backend, obj, filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise OSError('disk full')

    monkeypatch.setattr(HardDiskBackend, 'put', half_then_crash)
    runner._epoch = 1
    with pytest.raises(OSError, match='disk full'):
        runner.save_checkpoint(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth', 'latest.pth']
    assert is_complete_checkpoint(tmp_path / 'latest.pth')
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')


def test_checkpoint_carries_the_random_state(tmp_path):
    runner = _runner(tmp_path)
    runner.save_checkpoint(str(tmp_path))
    meta = torch.load(tmp_path / 'epoch_1.pth')['meta']  # weights_only=True, as mmcv loads it
    assert meta['epoch'] == 1 and set(meta['rng_state']) == {'python', 'numpy', 'torch', 'cuda'}


def test_nan_weights_are_not_written(tmp_path):
    runner = _runner(tmp_path)
    runner.save_checkpoint(str(tmp_path))
    with torch.no_grad():
        runner.model.fc.weight[0, 0] = float('nan')
    runner._epoch = 1
    with pytest.raises(FloatingPointError, match='fc.weight holds NaN/inf'):
        runner.save_checkpoint(str(tmp_path))
    assert not (tmp_path / 'epoch_2.pth').exists()
    assert os.readlink(tmp_path / 'latest.pth') == 'epoch_1.pth'


def test_find_latest_checkpoint_passes_over_broken_files(tmp_path):
    runner = _runner(tmp_path)
    runner.save_checkpoint(str(tmp_path))
    data = (tmp_path / 'epoch_1.pth').read_bytes()
    (tmp_path / 'epoch_5.pth').write_bytes(data[:len(data) // 2])  # truncated (a crash elsewhere)
    (tmp_path / 'epoch_6.pth').write_bytes(b'')  # empty
    staging = tmp_path / '.ckpt-staging-1-x'
    staging.mkdir()
    shutil.copy(tmp_path / 'epoch_1.pth', staging / 'epoch_7.pth')
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')
    os.remove(tmp_path / 'latest.pth')
    assert mmdet_find_latest_checkpoint(str(tmp_path)).endswith('epoch_6.pth')  # what it replaces
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')
    assert find_latest_checkpoint(str(tmp_path / 'nothing_here')) is None


def _draw():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_rng_state_round_trip():
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    np.random.randn()  # a cached Gaussian is part of numpy's state
    state = get_rng_state()
    expected = _draw()
    _draw()
    set_rng_state(state)
    assert _draw() == expected


class _DrawingHook(Hook):

    def after_train_epoch(self, runner):
        _draw()


def test_hooks_between_epochs_do_not_move_the_training_random_state(tmp_path):
    runner = _runner(tmp_path)
    runner.register_hook(_DrawingHook())
    torch.manual_seed(0)
    state = get_rng_state()
    runner.call_hook('after_train_epoch')
    assert get_rng_state() == state


def test_iter_based_runner_saves_atomically_and_resumes(tmp_path):
    from mmcv.runner import CheckpointHook
    from torch.utils.data import DataLoader

    def runner_for(work_dir):
        model = _Toy()
        return AtomicIterBasedRunner(
            model,
            work_dir=str(work_dir),
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            logger=logging.getLogger('atomic'),
            max_iters=3)

    loader = DataLoader(torch.ones(8, 4), batch_size=2)
    runner = runner_for(tmp_path)
    runner.register_hook(CheckpointHook(interval=1, by_epoch=False))
    runner.run([loader], [('train', 1)])
    assert sorted(os.listdir(tmp_path)) == ['iter_1.pth', 'iter_2.pth', 'iter_3.pth', 'latest.pth']
    assert os.readlink(tmp_path / 'latest.pth') == 'iter_3.pth'
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_3.pth')
    resumed = runner_for(tmp_path)
    resumed.resume(str(tmp_path / 'iter_2.pth'))
    assert resumed.iter == 2 and resumed._rng_to_restore is not None
