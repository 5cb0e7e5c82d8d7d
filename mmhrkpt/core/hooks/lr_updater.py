"""A step LR schedule given as fractions of the training, so that it follows the dataset's size."""
import math

from mmcv.runner import HOOKS
from mmcv.runner.hooks.lr_updater import StepLrUpdaterHook


@HOOKS.register_module()
class FractionStepLrUpdaterHook(StepLrUpdaterHook):
    """mmcv's step schedule with the steps as fractions of all training iterations.

    ``lr_config = dict(policy='FractionStep', step=[0.8, 0.95], warmup='linear', warmup_iters=100)``
    multiplies the LR by ``gamma`` at iteration ``floor(f * max_iters + 0.5)`` for each fraction ``f``
    (``max_iters`` = epochs x iterations per epoch, known when training starts), so the same config
    keeps its schedule's shape on a dataset of any size; counted in epochs (mmcv's ``by_epoch=True``)
    the steps could only fall on epoch boundaries. Warm-up stays counted in iterations (``warmup_iters``),
    as mmcv counts it: what it steadies, the first optimizer steps, does not scale with the dataset.
    The LR of iteration ``i`` (0-based) is then exactly that of
    ``dict(policy='step', by_epoch=False, step=[floor(f * max_iters + 0.5) for f in step])``.

    Args:
        step (list[float]): increasing fractions in (0, 1].
        gamma (float): LR factor at each step.
        min_lr (float | None): floor of the LR, as mmcv's.
        **kwargs: mmcv's ``LrUpdaterHook`` (warm-up); ``by_epoch`` must be False (the default here).
    """

    def __init__(self, step, gamma=0.1, min_lr=None, by_epoch=False, **kwargs):
        if by_epoch:
            raise ValueError('FractionStepLrUpdaterHook counts iterations: by_epoch must be False')
        if (not isinstance(step, (list, tuple)) or not step
                or any(isinstance(f, bool) or not isinstance(f, (int, float)) for f in step)):
            raise TypeError(f'FractionStep: step must be a list of fractions of the training, got '
                            f'{step!r}')
        fractions = [float(f) for f in step]
        if any(not 0 < f <= 1 for f in fractions) or fractions != sorted(fractions):
            raise ValueError(f'FractionStep: step must be increasing fractions in (0, 1] of all training '
                             f'iterations (e.g. [0.8, 0.95]), got {step!r}')
        # mmcv's constructor checks for positive integer steps: give it the placeholder 1, the real
        # steps are set in before_run
        super().__init__(step=[1], gamma=gamma, min_lr=min_lr, by_epoch=False, **kwargs)
        self.fractions = fractions
        self.step = None

    def steps_for(self, max_iters):
        """The iterations at which the LR steps, for ``max_iters`` training iterations."""
        return [max(1, math.floor(f * max_iters + 0.5)) for f in self.fractions]

    def before_run(self, runner):
        self.step = self.steps_for(runner.max_iters)
        runner.logger.info(f'LR steps at iterations {self.step} of {runner.max_iters} '
                           f'(fractions {self.fractions})')
        super().before_run(runner)
