"""Checkpoint files that survive a kill: completeness checks, the newest complete one, atomic moves.

A checkpoint is written into a hidden staging folder next to its final place, flushed to disk and moved
there with ``os.replace`` (atomic on one file system); ``latest.pth`` is replaced the same way (a new
symlink, or a copy where symlinks are not available, renamed over the old one).
"""
import glob
import os
import os.path as osp
import platform
import re
import shutil
import zipfile

import torch
from mmcv.utils import print_log

STAGING_PREFIX = '.ckpt-staging-'  # hidden, and never matched by '*.pth'
LATEST = 'latest.pth'
CHECKPOINT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
ZIP_MAGIC = b'PK\x03\x04'


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
        print_log(
            f'find_latest_checkpoint: {path} is not a complete checkpoint, skipped', logger=logger, level=30)
    return None


def fsync_file(path):
    with open(path, 'rb') as f:
        os.fsync(f.fileno())


def replace_latest(out_dir, filename, filepath):
    """Point ``out_dir/latest.pth`` at ``filename`` atomically (symlink, or copy on Windows)."""
    tmp = osp.join(out_dir, f'.{LATEST}.{os.getpid()}.tmp')
    if osp.lexists(tmp):
        os.remove(tmp)
    if platform.system() != 'Windows':
        os.symlink(filename, tmp)
    else:
        shutil.copy(filepath, tmp)
    os.replace(tmp, osp.join(out_dir, LATEST))


def remove_stale_staging(out_dir, logger):
    for path in glob.glob(osp.join(out_dir, STAGING_PREFIX + '*')):
        if path.startswith(osp.join(out_dir, f'{STAGING_PREFIX}{os.getpid()}-')):
            continue
        shutil.rmtree(path, ignore_errors=True)
        print_log(f'removed {path}, left by a checkpoint save that was interrupted', logger=logger)


def check_finite_weights(model, what):
    """Raise FloatingPointError naming the first parameter or buffer of ``model`` that holds a
    NaN or an inf."""
    module = getattr(model, 'module', model)
    for name, tensor in module.state_dict().items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise FloatingPointError(
                f'refusing to write {what}: {name} holds NaN/inf values (the training diverged); '
                'the last checkpoint written is the last good one')


def load_checkpoint_excluding(model, filename, exclude=(), logger=None):
    """mmdet's ``load_from`` (mmcv's non-strict load) without the tensors under ``exclude``.

    For a fine-tuning recipe whose new head has the names but not the shapes of the checkpoint's old
    one: loading it whole would skip the misshapen tensors with a "size mismatch" line each and load
    any that happen to fit. Here the checkpoint's tensors under the excluded prefixes are left out,
    what was left out is logged in one line, and mmcv logs the model's tensors the checkpoint did not
    fill (the new head: its own initialisation stays).

    Args:
        model (nn.Module): the model (a data-parallel wrapper is looked through).
        filename (str): the checkpoint (any mmcv file name: path, URL, ...).
        exclude (Sequence[str]): key prefixes, e.g. ``['roi_head.keypoint_head.']``.
        logger (logging.Logger | None): where to log.

    Returns:
        dict: the checkpoint as loaded.
    """
    from mmcv.runner import load_state_dict
    from mmcv.runner.checkpoint import _load_checkpoint
    checkpoint = _load_checkpoint(filename, map_location='cpu', logger=logger)
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = {re.sub(r'^module\.', '', key): value for key, value in state_dict.items()}
    prefixes = tuple(exclude)
    kept = {key: value for key, value in state_dict.items() if not key.startswith(prefixes)}
    print_log(
        f'load_from {filename}: {len(kept)} tensors loaded, {len(state_dict) - len(kept)} left '
        f'out (load_from_exclude={list(prefixes)})',
        logger=logger)
    load_state_dict(getattr(model, 'module', model), kept, strict=False, logger=logger)
    return checkpoint
