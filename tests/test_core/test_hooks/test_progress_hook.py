"""TrainingProgressHook: its lines, their arithmetic on a scripted run, and its place among the hooks."""
import logging

import pytest
import torch
from mmcv.runner import EpochBasedRunner, LogBuffer
from mmcv.runner.hooks import EvalHook, TextLoggerHook
from torch.utils.data import DataLoader

from mmhrkpt.core.hooks import TrainingProgressHook, place_progress_hook
from mmhrkpt.core.hooks.progress_hook import PROGRESS_PRIORITY, evaluated_epochs, format_duration


class _Runner:
    """What the hook reads of mmcv's EpochBasedRunner."""

    def __init__(self, iters_per_epoch, epochs, eval_hook):
        self.data_loader = range(iters_per_epoch)
        self.max_epochs, self.max_iters = epochs, epochs * iters_per_epoch
        self.epoch = self.iter = 0
        self.hooks = [eval_hook]
        self.log_buffer = LogBuffer()
        self.logger = logging.getLogger('test_progress_hook')


def _eval_hook(**kwargs):
    return EvalHook(DataLoader([0]), **kwargs)


def test_format_duration():
    assert format_duration(42.4) == '42 s'
    assert format_duration(17 * 60 + 53) == '17 min 53 s'
    assert format_duration(3600 + 5 * 60 + 9) == '1 h 5 min'


def test_evaluated_epochs_follow_mmcv_rule():
    assert evaluated_epochs(_eval_hook(interval=1), 5) == [1, 2, 3, 4, 5]
    assert evaluated_epochs(_eval_hook(interval=2), 5) == [2, 4]
    assert evaluated_epochs(_eval_hook(interval=2, start=1), 5) == [1, 3, 5]
    assert evaluated_epochs(_eval_hook(interval=2, by_epoch=False), 5) == []
    assert evaluated_epochs(None, 5) == []


def test_lines_of_a_scripted_run(caplog):
    """3 epochs of 10 iterations of 1 s (the run's first takes 3 s), evaluations after epochs 1 and
    3 taking 5 s each."""
    runner = _Runner(10, 3, _eval_hook(interval=2, start=1))
    hook = TrainingProgressHook(estimate_after=10)
    now = [0.0]
    hook._clock = lambda: now[0]
    aps = {1: 0.25, 3: 0.2}
    with caplog.at_level(logging.INFO, logger='test_progress_hook'):
        hook.before_run(runner)
        for epoch in range(3):
            runner.epoch = epoch
            runner.log_buffer.clear()  # as mmcv's logger hooks do before an epoch
            hook.before_train_epoch(runner)
            for i in range(10):
                step = 3.0 if runner.iter == 0 else 1.0
                now[0] += step
                runner.log_buffer.update({'time': step})  # as mmcv's IterTimerHook does
                hook.after_train_iter(runner)
                runner.iter += 1
            if epoch + 1 in aps:
                now[0] += 5.0
                runner.log_buffer.output['keypoints_AP'] = aps[epoch + 1]
            hook.after_train_epoch(runner)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 5 and all(line.startswith('[progress] ') for line in lines)
    start, estimate, epoch1, epoch2, epoch3 = lines
    assert 'training on ' in start and 'torch thread' in start
    assert '): 30 of 30 iterations (3 epochs of 10), 2 evaluations (after epochs 1, 3); first time ' \
        'estimate after 10 iterations' in start
    # 9 iterations of 1 s after the first; 20 left; the evaluations not yet timed
    assert estimate.startswith('[progress] 10/30 iterations, 1.00 s each: about 20 s of training left '
                               '+ 2 evaluations, not yet timed')
    # epoch 1: 12 s of iterations (1.2 s each) + 5 s of evaluation; 20 iterations and 1 evaluation left
    assert epoch1.startswith('[progress] epoch 1/3 done in 17 s (1.20 s/iter, evaluation 5 s): '
                             'keypoints_AP 0.250 (epoch 1); about 29 s left (1 evaluation of 5 s '
                             'included), done at ~')
    assert epoch2.startswith('[progress] epoch 2/3 done in 10 s (1.00 s/iter): keypoints_AP 0.250 '
                             '(epoch 1); about 15 s left')
    assert epoch3 == ('[progress] epoch 3/3 done in 15 s (1.00 s/iter, evaluation 5 s): keypoints_AP '
                      '0.200 (epoch 3; best 0.250 at epoch 1); training finished')


def test_no_evaluation_says_so(caplog):
    runner = _Runner(4, 1, _eval_hook(interval=2))
    runner.hooks = []
    hook = TrainingProgressHook(estimate_after=2)
    with caplog.at_level(logging.INFO, logger='test_progress_hook'):
        hook.before_run(runner)
        hook.before_train_epoch(runner)
        for _ in range(4):
            runner.log_buffer.update({'time': 0.5})
            hook.after_train_iter(runner)
            runner.iter += 1
        hook.after_train_epoch(runner)
    lines = [r.getMessage() for r in caplog.records]
    assert 'no evaluation during training' in lines[0]
    assert '2/4 iterations, 0.50 s each: about 1 s left, done at ~' in lines[1]
    assert lines[2].endswith('keypoints_AP not evaluated yet; training finished')


def test_bad_argument():
    with pytest.raises(ValueError, match='estimate_after must be >= 2'):
        TrainingProgressHook(estimate_after=1)


class _Toy(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(1, 1)

    def train_step(self, data, optimizer):
        return dict(loss=self.fc(data).sum())


def test_placed_after_the_evaluation_hook_and_before_the_loggers(tmp_path):
    runner = EpochBasedRunner(_Toy(), work_dir=str(tmp_path), logger=logging.getLogger('test'), max_epochs=1)
    progress = TrainingProgressHook()
    runner.register_hook(progress, priority='NORMAL')  # as custom_hooks registers it by default
    runner.register_hook(TextLoggerHook(), priority='VERY_LOW')
    runner.register_hook(_eval_hook(), priority='LOW')
    place_progress_hook(runner)
    assert [type(h) for h in runner.hooks] == [EvalHook, TrainingProgressHook, TextLoggerHook]
    assert progress.priority == PROGRESS_PRIORITY
