"""FractionStepLrUpdaterHook: the demo's schedule unchanged, and the same fractions on other sizes."""
import logging
from pathlib import Path

import pytest
import torch
from mmcv import Config
from mmcv.runner import HOOKS
from mmcv.utils import build_from_cfg

from mmhrkpt.core.hooks import FractionStepLrUpdaterHook

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / 'configs' / 'synthetic' / 'krcnn_hrnet_w18_synthetic.py'
BASE_LR = 2e-3


class _Runner:
    """What mmcv's LR hooks read of an epoch-based runner."""

    def __init__(self, iters_per_epoch, epochs):
        self.optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE_LR)
        self.data_loader = range(iters_per_epoch)
        self.max_epochs, self.max_iters = epochs, epochs * iters_per_epoch
        self.epoch = self.iter = 0
        self.logger = logging.getLogger('test_lr_updater')


def _lr_hook(lr_config):
    cfg = dict(lr_config)
    policy = cfg.pop('policy')
    cfg['type'] = (policy.title() if policy == policy.lower() else policy) + 'LrUpdaterHook'
    return build_from_cfg(cfg, HOOKS)  # as mmcv's register_lr_hook builds it


def lr_sequence(lr_config, iters_per_epoch, epochs):
    """The LR of every training iteration, as the hook sets it (mmcv's runner calls)."""
    runner, hook = _Runner(iters_per_epoch, epochs), _lr_hook(lr_config)
    hook.before_run(runner)
    lrs = []
    for epoch in range(epochs):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        for _ in range(iters_per_epoch):
            hook.before_train_iter(runner)
            lrs.append(runner.optimizer.param_groups[0]['lr'])
            runner.iter += 1
    return lrs


def steps_of(lrs):
    """Iterations (0-based) whose LR is below the one before, after the warm-up has ended."""
    return [i for i in range(1, len(lrs)) if lrs[i] < lrs[i - 1] * 0.5]


def test_demo_schedule_is_the_iteration_schedule_it_replaces():
    demo = Config.fromfile(str(DEMO)).lr_config
    assert demo.policy == 'FractionStep'
    counted = dict(
        policy='step',
        by_epoch=False,
        warmup='linear',
        warmup_iters=100,
        warmup_ratio=0.01,
        step=[1190, 1425])
    # 1200 images, 4 per iteration: 5 epochs of 300
    new, old = lr_sequence(demo, 300, 5), lr_sequence(counted, 300, 5)
    assert new == old  # exactly, warm-up included
    assert steps_of(new) == [1190, 1425]
    assert new[0] == pytest.approx(BASE_LR * 0.01) and new[100] == BASE_LR


def test_epoch_counted_steps_could_not_keep_the_demo_schedule():
    """What mmcv's by_epoch=True gives instead: steps on epoch boundaries only (1190 / 300 = 3.97)."""
    by_epoch = dict(
        policy='step', by_epoch=True, warmup='linear', warmup_iters=100, warmup_ratio=0.01, step=[4, 5])
    assert steps_of(lr_sequence(by_epoch, 300, 5)) == [1200]  # and the second never comes


@pytest.mark.parametrize('iters_per_epoch, epochs', [(37, 5), (7, 9), (1000, 2)])
def test_steps_land_at_the_same_fractions_for_other_dataset_sizes(iters_per_epoch, epochs):
    demo = Config.fromfile(str(DEMO)).lr_config
    demo.warmup_iters = 2
    lrs = lr_sequence(demo, iters_per_epoch, epochs)
    total = iters_per_epoch * epochs
    steps = steps_of(lrs)
    assert len(steps) == 2
    for step, fraction in zip(steps, (1190 / 1500, 1425 / 1500)):
        assert abs(step - fraction * total) <= 0.5, (step, fraction * total)
    assert lrs[-1] == pytest.approx(BASE_LR * 0.01)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(step=[1190, 1425]), ValueError, r'increasing fractions in \(0, 1\]'),
    (dict(step=[0.9, 0.5]), ValueError, 'increasing fractions'),
    (dict(step=[0.0]), ValueError, 'increasing fractions'),
    (dict(step=0.5), TypeError, 'list of fractions'),
    (dict(step=['0.5']), TypeError, 'list of fractions'),
    (dict(step=[0.5], by_epoch=True), ValueError, 'by_epoch must be False'),
])
def test_bad_steps_are_refused_with_a_clear_error(kwargs, error, match):
    with pytest.raises(error, match=match):
        FractionStepLrUpdaterHook(**kwargs)
