"""Progress a person can read while a training runs: expected time left and the keypoint AP so far."""
import os
import time

import numpy as np
import torch
from mmcv.runner import HOOKS, Hook, master_only
from mmcv.runner.hooks.evaluation import EvalHook

from mmhrkpt.utils.cpu_info import cpu_model_name

PREFIX = '[progress]'
# after the evaluation hook (LOW = 70), before the loggers (VERY_LOW = 90)
PROGRESS_PRIORITY = 80


def format_duration(seconds):
    """``'1 h 5 min'``, ``'17 min 53 s'``, ``'42 s'``."""
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f'{hours} h {minutes} min'
    if minutes:
        return f'{minutes} min {secs} s'
    return f'{secs} s'


def _count(n, noun):
    return f'{n} {noun}' + ('' if n == 1 else 's')


def evaluated_epochs(eval_hook, max_epochs):
    """The 1-based epochs after which ``eval_hook`` (mmcv's ``EvalHook`` rule: ``start``, ``interval``)
    evaluates, out of ``max_epochs`` (none for an iteration-based evaluation)."""
    if eval_hook is None or not eval_hook.by_epoch:
        return []
    start, interval = eval_hook.start, eval_hook.interval
    if start is None:
        return [e for e in range(1, max_epochs + 1) if e % interval == 0]
    return [e for e in range(1, max_epochs + 1) if e >= start and (e - start) % interval == 0]


@HOOKS.register_module()
class TrainingProgressHook(Hook):
    """One log line at the start of training, one after the first ``estimate_after`` iterations and one
    after each epoch: the expected time left and the keypoint AP so far (rank 0 only).

    The time left is (iterations left) x (mean time per iteration of the last epoch, or of the first
    iterations, as mmcv's ``IterTimerHook`` logs it: data loading included) + (evaluations left) x (the
    time the last evaluation took). An evaluation's time is what an epoch that evaluates takes beyond
    its iterations (checkpoint writing included); before the first one it is not known and the line
    says so. For an epoch-based runner: ``custom_hooks = [dict(type='TrainingProgressHook')]``.

    It must run after the evaluation hook and before the loggers, which clear the epoch's AP from the
    log buffer: :func:`place_progress_hook` (called by ``mmhrkpt.apis.train_detector``) gives it
    ``PROGRESS_PRIORITY`` whatever the config says.

    Args:
        estimate_after (int): iterations timed before the first estimate (the first iteration of a run,
            which sets up oneDNN's kernels and the data loader, is left out of it).
        metric (str): the evaluation result reported (``keypoints_AP``).
    """

    def __init__(self, estimate_after=10, metric='keypoints_AP'):
        if estimate_after < 2:
            raise ValueError(f'TrainingProgressHook: estimate_after must be >= 2, got {estimate_after}')
        self.estimate_after = int(estimate_after)
        self.metric = metric
        self._clock = time.monotonic  # tests replace it
        self._eval_s = None
        self._best = None  # (value, epoch)
        self._last = None  # (value, epoch)

    # ------------------------------------------------------------------ helpers
    def _eval_hook(self, runner):
        return next((h for h in runner.hooks if isinstance(h, EvalHook)), None)

    def _evaluations_after(self, runner, epoch):
        """Evaluations still to come after (1-based) ``epoch``."""
        return [e for e in evaluated_epochs(self._eval_hook(runner), runner.max_epochs) if e > epoch]

    def _remaining(self, runner, iters_left, s_per_iter, epoch):
        """'about X left, done at ~HH:MM' for ``iters_left`` iterations and the evaluations after
        (1-based) ``epoch``."""
        train_s = iters_left * s_per_iter
        evals = len(self._evaluations_after(runner, epoch))
        if evals and self._eval_s is None:
            eta = time.strftime('%H:%M', time.localtime(time.time() + train_s))
            return (f'about {format_duration(train_s)} of training left + {_count(evals, "evaluation")}'
                    f', not yet timed (done at ~{eta} without them)')
        total = train_s + evals * (self._eval_s or 0.0)
        eta = time.strftime('%H:%M', time.localtime(time.time() + total))
        with_evals = (f' ({_count(evals, "evaluation")} of {format_duration(self._eval_s)} included)'
                      if evals else '')
        return f'about {format_duration(total)} left{with_evals}, done at ~{eta}'

    def _iter_times(self, runner):
        return list(runner.log_buffer.val_history.get('time', []))

    def _ap_text(self):
        if self._last is None:
            return f'{self.metric} not evaluated yet'
        text = f'{self.metric} {self._last[0]:.3f} (epoch {self._last[1]}'
        if self._best is not None and self._best[1] != self._last[1]:
            text += f'; best {self._best[0]:.3f} at epoch {self._best[1]}'
        return text + ')'

    # ------------------------------------------------------------------ hook stages
    @master_only
    def before_run(self, runner):
        self._iters_this_run = 0
        iters_per_epoch = runner.max_iters // max(runner.max_epochs or 1, 1)
        evals = evaluated_epochs(self._eval_hook(runner), runner.max_epochs or 0)
        when = (f'{_count(len(evals), "evaluation")} (after epoch{"s" if len(evals) > 1 else ""} '
                f'{", ".join(map(str, evals))})' if evals else 'no evaluation during training')
        runner.logger.info(
            f'{PREFIX} training on {cpu_model_name()} ({_count(os.cpu_count(), "core")}, '
            f'{_count(torch.get_num_threads(), "torch thread")}): {runner.max_iters - runner.iter} of '
            f'{runner.max_iters} iterations ({runner.max_epochs} epochs of {iters_per_epoch}), {when}; '
            f'first time estimate after {self.estimate_after} iterations')

    @master_only
    def before_train_epoch(self, runner):
        self._epoch_start = self._clock()

    @master_only
    def after_train_iter(self, runner):
        self._iters_this_run += 1
        if self._iters_this_run != self.estimate_after:
            return
        times = self._iter_times(runner)[1:]  # the run's first iteration sets everything up
        if not times:
            return
        s_per_iter = float(np.mean(times))
        runner.logger.info(
            f'{PREFIX} {runner.iter + 1}/{runner.max_iters} iterations, {s_per_iter:.2f} s each: '
            f'{self._remaining(runner, runner.max_iters - runner.iter - 1, s_per_iter, runner.epoch)}')

    @master_only
    def after_train_epoch(self, runner):
        epoch = runner.epoch + 1
        times = self._iter_times(runner)
        wall = self._clock() - self._epoch_start
        s_per_iter = float(np.mean(times)) if times else wall / max(len(runner.data_loader), 1)
        value = runner.log_buffer.output.get(self.metric)
        evaluated = value is not None
        if evaluated:
            self._eval_s = max(wall - float(np.sum(times)), 0.0)
            self._last = (float(value), epoch)
            if self._best is None or value > self._best[0]:
                self._best = (float(value), epoch)
        done = f'epoch {epoch}/{runner.max_epochs} done in {format_duration(wall)} ({s_per_iter:.2f} s/iter'
        done += f', evaluation {format_duration(self._eval_s)})' if evaluated else ')'
        left = (
            self._remaining(runner, runner.max_iters - runner.iter, s_per_iter, epoch)
            if runner.iter < runner.max_iters else 'training finished')
        runner.logger.info(f'{PREFIX} {done}: {self._ap_text()}; {left}')


def place_progress_hook(runner):
    """Give every :class:`TrainingProgressHook` of ``runner`` the priority ``PROGRESS_PRIORITY``
    (after the evaluation hook, before the loggers)."""
    for hook in [h for h in runner.hooks if isinstance(h, TrainingProgressHook)]:
        runner.hooks.remove(hook)
        del hook.priority  # register_hook sets it, and refuses a hook that has one
        runner.register_hook(hook, priority=PROGRESS_PRIORITY)
