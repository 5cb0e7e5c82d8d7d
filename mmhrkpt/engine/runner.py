"""Runners whose checkpoints survive a kill and whose resumption is exact.

mmcv's runners write ``epoch_N.pth`` in place and replace ``latest.pth`` by removing it first, so a
process killed during a save leaves a truncated checkpoint or no ``latest.pth``; and a resumed run
draws other random numbers (data order, augmentation, RoI sampling) than the run it continues.
Here:

- a checkpoint is written and moved into place atomically (``checkpoint.py``);
- a checkpoint whose weights hold a NaN or an inf is refused, so the last checkpoint written is
  always the last good one;
- the random state (``rng.py``) is saved in ``meta['rng_state']`` and restored when a run resumes;
- the random state seen by training does not depend on the hooks run between two epochs (or two
  iterations): it is saved before the ``after_train_epoch`` (``after_train_iter``) hooks and
  restored after them (and around a ``val`` workflow epoch), so an evaluation (which draws, e.g.,
  a data loader seed) changes nothing, and a run resumed from epoch N draws exactly what the
  uninterrupted run drew in epoch N + 1.

Use them from a config: ``runner = dict(type='AtomicEpochBasedRunner', max_epochs=12)``.
"""
import os
import os.path as osp
import shutil
import tempfile

import torch
from mmcv.runner import RUNNERS, EpochBasedRunner, IterBasedRunner, get_dist_info

from .checkpoint import STAGING_PREFIX, check_finite_weights, fsync_file, remove_stale_staging, replace_latest
from .rng import get_rng_state, set_rng_state


class AtomicCheckpointMixin:
    """What :class:`AtomicEpochBasedRunner` and :class:`AtomicIterBasedRunner` add to mmcv's
    runners (see the module docstring). ``RNG_GUARDED_STAGE`` is the hook stage between two
    units of training (an epoch or an iteration)."""

    RNG_GUARDED_STAGE = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rng_snapshot = None  # the training RNG state, during RNG_GUARDED_STAGE
        self._rng_to_restore = None  # set by resume(), applied when training starts
        self._resumed_from = None
        self._loaded_meta = {}

    # ------------------------------------------------------------------------------- hooks
    def call_hook(self, fn_name):
        if fn_name in ('before_train_epoch', 'before_train_iter') and self._rng_to_restore:
            set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
            self.logger.info(f'random state restored from {self._resumed_from}')
        if fn_name != self.RNG_GUARDED_STAGE:
            return super().call_hook(fn_name)
        self._rng_snapshot = get_rng_state()
        try:
            return super().call_hook(fn_name)
        finally:
            set_rng_state(self._rng_snapshot)
            self._rng_snapshot = None

    # -------------------------------------------------------------------------------- save
    def save_checkpoint(self,
                        out_dir,
                        filename_tmpl=None,
                        save_optimizer=True,
                        meta=None,
                        create_symlink=True):
        """mmcv's ``save_checkpoint``, atomic, with ``meta['rng_state']``; rank 0 only; refuses
        weights with NaN/inf (FloatingPointError)."""
        if get_dist_info()[0] != 0:
            return
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f'meta should be a dict or None, but got {type(meta)}')
        check_finite_weights(self.model, f'a checkpoint in {out_dir}')
        meta = dict(meta or {})
        meta['rng_state'] = self._rng_snapshot or get_rng_state()
        kwargs = dict(save_optimizer=save_optimizer, meta=meta)
        if filename_tmpl is not None:
            kwargs['filename_tmpl'] = filename_tmpl
        if '://' in out_dir:  # another file backend (s3, petrel, ...): mmcv's own, not atomic
            return super().save_checkpoint(out_dir, create_symlink=create_symlink, **kwargs)
        os.makedirs(out_dir, exist_ok=True)
        remove_stale_staging(out_dir, self.logger)
        staging = tempfile.mkdtemp(prefix=f'{STAGING_PREFIX}{os.getpid()}-', dir=out_dir)
        try:
            super().save_checkpoint(staging, create_symlink=False, **kwargs)
            (filename, ) = os.listdir(staging)
            staged = osp.join(staging, filename)
            fsync_file(staged)
            filepath = osp.join(out_dir, filename)
            os.replace(staged, filepath)
            if create_symlink:
                replace_latest(out_dir, filename, filepath)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def val(self, data_loader, **kwargs):
        """mmcv's ``val`` epoch (a ``('val', 1)`` workflow step), leaving the training random
        state as it found it."""
        state = get_rng_state()
        try:
            return super().val(data_loader, **kwargs)
        finally:
            set_rng_state(state)

    # ------------------------------------------------------------------------------ resume
    def _correct_counters(self, meta):
        """After mmcv's resume: fix the epoch/iteration counters from ``meta`` if need be."""

    def load_checkpoint(self, filename, *args, **kwargs):
        checkpoint = super().load_checkpoint(filename, *args, **kwargs)
        self._loaded_meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
        return checkpoint

    def resume(self, checkpoint, resume_optimizer=True, map_location='default'):
        """mmcv's ``resume`` (weights, optimizer, epoch and iteration counters) plus the random
        state, restored when training starts; says from which file, epoch and iteration.

        ``map_location='default'`` is this process's GPU, or the CPU when there is none (mmcv's
        ``IterBasedRunner.resume`` asks CUDA for its device even on a machine without one)."""
        if map_location == 'default' and not torch.cuda.is_available():
            map_location = 'cpu'
        self._loaded_meta = {}
        super().resume(checkpoint, resume_optimizer=resume_optimizer, map_location=map_location)
        self._correct_counters(self._loaded_meta)
        rng_state = self._loaded_meta.get('rng_state')
        if isinstance(self.meta, dict):
            self.meta.pop('rng_state', None)  # a later save writes the state of its own time
        self._resumed_from = checkpoint
        self._rng_to_restore = rng_state
        self.logger.info(f'resumed from {checkpoint}: epoch {self.epoch}, iter {self.iter}; ' +
                         ('random state saved with it, restored when training starts' if rng_state else
                          'no random state in it (not written by an Atomic*Runner): data order and '
                          'augmentation will differ from an uninterrupted run'))


@RUNNERS.register_module()
class AtomicEpochBasedRunner(AtomicCheckpointMixin, EpochBasedRunner):
    """mmcv's ``EpochBasedRunner`` with atomic checkpoints and exact resumption (module
    docstring)."""

    RNG_GUARDED_STAGE = 'after_train_epoch'


@RUNNERS.register_module()
class AtomicIterBasedRunner(AtomicCheckpointMixin, IterBasedRunner):
    """mmcv's ``IterBasedRunner`` with atomic checkpoints and the random state saved and restored.

    mmcv 1.7.2 saves ``iter_N.pth`` with ``meta['iter'] = N - 1`` (the counter before its
    increment), so its resume repeats iteration N; here ``meta['completed_iters'] = N`` is saved too
    and a resume continues with iteration N + 1. mmcv's iteration-based resume starts a new pass
    over the data loader, so the data order after a resume differs from an uninterrupted run's even
    with the random state restored.
    """

    RNG_GUARDED_STAGE = 'after_train_iter'

    def save_checkpoint(self,
                        out_dir,
                        filename_tmpl='iter_{}.pth',
                        meta=None,
                        save_optimizer=True,
                        create_symlink=True):
        # checkpoints are written from after_train_iter hooks: iteration self.iter + 1 is done
        meta = dict(meta or {}, completed_iters=self.iter + 1)
        super().save_checkpoint(
            out_dir,
            filename_tmpl=filename_tmpl,
            save_optimizer=save_optimizer,
            meta=meta,
            create_symlink=create_symlink)

    def _correct_counters(self, meta):
        completed = meta.get('completed_iters')
        if completed is not None:
            self._iter = self._inner_iter = completed
