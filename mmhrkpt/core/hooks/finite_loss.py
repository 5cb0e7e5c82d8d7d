"""A stop at the first non-finite loss, placed before the optimizer step."""
import math

import torch
from mmcv.runner import HOOKS, Hook, OptimizerHook


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop at the first NaN/inf loss, naming the iteration and the losses that went bad.

    Registered with a priority above the optimizer hook, it runs before the step, so the bad
    gradients are never applied and the last checkpoint written stays the last good one
    (:func:`place_finite_loss_hook` moves it there if a config gives it a lower priority, and
    adds one if a config has none). In distributed training the logged losses are averaged over
    the ranks, so every rank stops at the same iteration.
    """

    def after_train_iter(self, runner):
        log_vars = (runner.outputs or {}).get('log_vars', {})
        bad = {k: v for k, v in log_vars.items() if isinstance(v, (float, int)) and not math.isfinite(v)}
        if not bad:
            loss = runner.outputs.get('loss', None)
            if torch.is_tensor(loss) and not torch.isfinite(loss).all():
                bad = {'loss': float(loss.detach().sum())}
        if bad:
            what = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise FloatingPointError(
                f'Non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): '
                f'{what}. Training stopped; the last checkpoint written is the last good one.')


def place_finite_loss_hook(runner, logger):
    """Make sure a :class:`FiniteLossHook` runs before the optimizer step (add one if missing)."""
    finite = [h for h in runner.hooks if isinstance(h, FiniteLossHook)]
    optimizer = [i for i, h in enumerate(runner.hooks) if isinstance(h, OptimizerHook)]
    if not finite:
        runner.register_hook(FiniteLossHook(), priority='VERY_HIGH')
        logger.info('FiniteLossHook added (the config has none): training stops at a NaN/inf loss')
        return
    for hook in finite:
        if optimizer and runner.hooks.index(hook) > optimizer[0]:
            runner.hooks.remove(hook)
            del hook.priority  # register_hook sets it, and refuses a hook that has one
            runner.register_hook(hook, priority='VERY_HIGH')
            logger.warning('FiniteLossHook moved before the optimizer hook (priority VERY_HIGH), '
                           'so that a NaN/inf loss is never stepped into the weights')
