"""FiniteLossHook: the stop at a non-finite loss, and its place before the optimizer step."""
import logging
import math

import pytest
import torch
from mmcv.runner import EpochBasedRunner, OptimizerHook

from mmhrkpt.core.hooks import FiniteLossHook, place_finite_loss_hook


class _Toy(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(1, 1)

    def train_step(self, data, optimizer):
        return dict(loss=self.fc(data).sum())


def _runner(tmp_path):
    return EpochBasedRunner(_Toy(), work_dir=str(tmp_path), logger=logging.getLogger('test'), max_epochs=1)


def test_finite_loss_hook_is_placed_before_the_optimizer_step(tmp_path):
    runner = _runner(tmp_path)
    runner.register_hook(OptimizerHook(), 'ABOVE_NORMAL')
    runner.register_hook(FiniteLossHook(), 'LOWEST')
    place_finite_loss_hook(runner, runner.logger)
    assert [type(h) for h in runner.hooks] == [FiniteLossHook, OptimizerHook]
    runner = _runner(tmp_path)
    runner.register_hook(OptimizerHook(), 'ABOVE_NORMAL')
    place_finite_loss_hook(runner, runner.logger)  # none in the config: one is added, first
    assert [type(h) for h in runner.hooks] == [FiniteLossHook, OptimizerHook]


class _FakeRunner:
    iter, epoch = 4, 0

    def __init__(self, log_vars, loss):
        self.outputs = dict(log_vars=log_vars, loss=loss)


def test_a_nan_loss_stops_naming_the_iteration_and_the_loss():
    with pytest.raises(FloatingPointError, match=r'iteration 5 .*loss_keypoint=nan'):
        FiniteLossHook().after_train_iter(
            _FakeRunner(dict(loss_keypoint=math.nan, loss_cls=0.5), torch.tensor(math.nan)))


def test_finite_losses_pass():
    FiniteLossHook().after_train_iter(_FakeRunner(dict(loss_cls=0.5), torch.tensor(0.5)))
