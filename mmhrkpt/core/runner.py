"""Runners whose checkpoints survive a kill and whose resumption is exact.

mmcv's runners write ``epoch_N.pth`` in place and replace ``latest.pth`` by removing it first, so a
process killed during a save leaves a truncated checkpoint or no ``latest.pth``; and a resumed run
draws other random numbers (data order, augmentation, RoI sampling) than the run it continues.
Here:

- a checkpoint is written into a hidden staging folder next to its final place, flushed to disk
  and moved there with ``os.replace`` (atomic on one file system); ``latest.pth`` is replaced the
  same way (a new symlink, or a copy where symlinks are not available, renamed over the old one);
- a checkpoint whose weights hold a NaN or an inf is refused, so the last checkpoint written is
  always the last good one;
- the random state of python ``random``, numpy and torch (CPU and every CUDA device) is saved in
  ``meta['rng_state']`` (strings and numbers: readable with ``weights_only=True`` and by mmcv's
  JSON log), and restored when a run resumes;
- the random state seen by training does not depend on the hooks run between two epochs (or two
  iterations): it is saved before the ``after_train_epoch`` (``after_train_iter``) hooks and
  restored after them (and around a ``val`` workflow epoch), so an evaluation (which draws, e.g.,
  a data loader seed) changes nothing, and a run resumed from epoch N draws exactly what the
  uninterrupted run drew in epoch N + 1.

``find_latest_checkpoint`` picks the newest checkpoint of a work dir that is complete.

Use them from a config: ``runner = dict(type='AtomicEpochBasedRunner', max_epochs=12)``.
"""
import glob
import os
import os.path as osp
import platform
import random
import re
import shutil
import tempfile
import zipfile

import numpy as np
import torch
from mmcv.runner import RUNNERS, EpochBasedRunner, IterBasedRunner, get_dist_info
from mmcv.utils import print_log

STAGING_PREFIX = '.ckpt-staging-'  # hidden, and never matched by '*.pth'
LATEST = 'latest.pth'
CHECKPOINT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
ZIP_MAGIC = b'PK\x03\x04'


# ------------------------------------------------------------------------------------ RNG state
def _to_hex(array, dtype):
    return np.ascontiguousarray(array, dtype=dtype).tobytes().hex()


def _from_hex(text, dtype):
    return np.frombuffer(bytes.fromhex(text), dtype=dtype).copy()


def _torch_state_hex(state):
    return _to_hex(state.numpy(), np.uint8)


def _torch_state(text):
    return torch.from_numpy(_from_hex(text, np.uint8))


def get_rng_state():
    """The state of python ``random``, numpy's global generator and torch (CPU, CUDA).

    Plain strings and numbers (the generators' words as little-endian hex), so that it goes
    through ``torch.load(weights_only=True)`` (how mmcv loads checkpoints with torch >= 2.6) and
    through mmcv's JSON log, which dumps the runner's meta.

    Returns:
        dict: ``python``, ``numpy``, ``torch``, ``cuda`` (a list, one state per device).
    """
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return dict(
        python=dict(version=version, internal=_to_hex(internal, '<u4'), gauss=gauss),
        numpy=dict(bit_generator=np_state['bit_generator'],
                   key=_to_hex(np_state['state']['key'], '<u4'),
                   pos=int(np_state['state']['pos']), has_gauss=int(np_state['has_gauss']),
                   gauss=float(np_state['gauss'])),
        torch=_torch_state_hex(torch.get_rng_state()),
        cuda=[_torch_state_hex(state) for state in cuda])


def set_rng_state(state):
    """Restore a state from :func:`get_rng_state` (CUDA states only when there are as many
    devices as when it was saved)."""
    py = state['python']
    internal = tuple(int(v) for v in _from_hex(py['internal'], '<u4'))
    random.setstate((py['version'], internal, py['gauss']))
    npy = state['numpy']
    np.random.set_state(dict(
        bit_generator=npy['bit_generator'],
        state=dict(key=_from_hex(npy['key'], '<u4').astype(np.uint32), pos=npy['pos']),
        has_gauss=npy['has_gauss'], gauss=npy['gauss']))
    torch.set_rng_state(_torch_state(state['torch']))
    cuda = state.get('cuda') or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([_torch_state(s) for s in cuda])


# ---------------------------------------------------------------------------- checkpoint files
def is_complete_checkpoint(path):
    """Whether ``path`` is a whole checkpoint file.

    torch writes zip archives, whose directory sits at the very end: a truncated one does not
    open. A file in torch's legacy format is loaded to find out.
    """
    try:
        if not osp.isfile(path) or osp.getsize(path) == 0:
            return False
        with open(path, 'rb') as f:
            magic = f.read(len(ZIP_MAGIC))
        if magic == ZIP_MAGIC:
            with zipfile.ZipFile(path) as archive:
                return len(archive.namelist()) > 0
        torch.load(path, map_location='cpu', weights_only=False)
        return True
    except Exception:  # noqa: BLE001  (any failure to read means: not usable)
        return False


def find_latest_checkpoint(work_dir, logger=None):
    """The newest complete checkpoint of ``work_dir`` (``epoch_N.pth`` / ``iter_N.pth`` by N),
    or ``latest.pth`` when it is a complete file and no numbered one is; None if there is none.

    Unlike mmdet's ``find_latest_checkpoint``, a file that does not open as a whole checkpoint
    (a truncated or empty one left by a crash elsewhere) is passed over with a warning, and the
    staging files of an interrupted save are never candidates.
    """
    if not osp.isdir(work_dir):
        return None
    numbered = []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        match = CHECKPOINT_NAME.match(osp.basename(path))
        if match:
            numbered.append((int(match.group(2)), path))
    candidates = [path for _, path in sorted(numbered, reverse=True)]
    latest = osp.join(work_dir, LATEST)
    if osp.isfile(latest) and not osp.islink(latest):
        candidates.append(latest)  # a copy (no symlinks here) is the last resort
    for path in candidates:
        if is_complete_checkpoint(path):
            return path
        print_log(f'find_latest_checkpoint: {path} is not a complete checkpoint, skipped',
                  logger=logger, level=30)
    return None


def _fsync(path):
    with open(path, 'rb') as f:
        os.fsync(f.fileno())


def _replace_latest(out_dir, filename, filepath):
    """Point ``out_dir/latest.pth`` at ``filename`` atomically (symlink, or copy on Windows)."""
    tmp = osp.join(out_dir, f'.{LATEST}.{os.getpid()}.tmp')
    if osp.lexists(tmp):
        os.remove(tmp)
    if platform.system() != 'Windows':
        os.symlink(filename, tmp)
    else:
        shutil.copy(filepath, tmp)
    os.replace(tmp, osp.join(out_dir, LATEST))


def _remove_stale_staging(out_dir, logger):
    for path in glob.glob(osp.join(out_dir, STAGING_PREFIX + '*')):
        if path.startswith(osp.join(out_dir, f'{STAGING_PREFIX}{os.getpid()}-')):
            continue
        shutil.rmtree(path, ignore_errors=True)
        print_log(f'removed {path}, left by a checkpoint save that was interrupted',
                  logger=logger)


def check_finite_weights(model, what):
    """Raise FloatingPointError naming the first parameter or buffer of ``model`` that holds a
    NaN or an inf."""
    module = getattr(model, 'module', model)
    for name, tensor in module.state_dict().items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise FloatingPointError(
                f'refusing to write {what}: {name} holds NaN/inf values (the training diverged); '
                'the last checkpoint written is the last good one')


# ------------------------------------------------------------------------------------ runners
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
    def save_checkpoint(self, out_dir, filename_tmpl=None, save_optimizer=True, meta=None,
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
        _remove_stale_staging(out_dir, self.logger)
        staging = tempfile.mkdtemp(prefix=f'{STAGING_PREFIX}{os.getpid()}-', dir=out_dir)
        try:
            super().save_checkpoint(staging, create_symlink=False, **kwargs)
            (filename, ) = os.listdir(staging)
            staged = osp.join(staging, filename)
            _fsync(staged)
            filepath = osp.join(out_dir, filename)
            os.replace(staged, filepath)
            if create_symlink:
                _replace_latest(out_dir, filename, filepath)
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
        self.logger.info(
            f'resumed from {checkpoint}: epoch {self.epoch}, iter {self.iter}; '
            + ('random state saved with it, restored when training starts' if rng_state else
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

    def save_checkpoint(self, out_dir, filename_tmpl='iter_{}.pth', meta=None,
                        save_optimizer=True, create_symlink=True):
        # checkpoints are written from after_train_iter hooks: iteration self.iter + 1 is done
        meta = dict(meta or {}, completed_iters=self.iter + 1)
        super().save_checkpoint(out_dir, filename_tmpl=filename_tmpl, save_optimizer=save_optimizer,
                                meta=meta, create_symlink=create_symlink)

    def _correct_counters(self, meta):
        completed = meta.get('completed_iters')
        if completed is not None:
            self._iter = self._inner_iter = completed
