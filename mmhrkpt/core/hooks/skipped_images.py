"""The image files a training set skipped, counted in the log over all ranks."""
import torch.distributed as dist
from mmcv.runner import HOOKS, Hook, get_dist_info

from mmhrkpt.datasets.utils import leaf_datasets


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """After every training epoch, count in the log the image files the training set skipped
    (missing or undecodable, see ``CocoKeypointDataset.skipped_files``), over all ranks.

    The dataset itself names each file once when it skips it, but only rank 0 writes the log: the
    files that only other ranks skipped are named here, once. ``mmhrkpt.apis.train_detector``
    registers this hook when the training set keeps ``skipped_files``, and shares that record
    with the data loader workers (``share_skipped_files``), so the files skipped inside them are
    counted here too.
    """

    def __init__(self):
        self._named = set()

    def after_train_epoch(self, runner):
        local = set()
        for dataset in leaf_datasets(runner.data_loader.dataset):
            local.update(getattr(dataset, 'skipped_files', ()))
        rank, world_size = get_dist_info()
        per_rank = [sorted(local)]
        if world_size > 1:
            per_rank = [None] * world_size
            dist.all_gather_object(per_rank, sorted(local))
        if rank != 0:
            return
        skipped = set().union(*map(set, per_rank))
        self._named.update(per_rank[0])  # rank 0's dataset named them in the log already
        for path in sorted(skipped - self._named):
            runner.logger.warning(f'skipped image (by another rank): {path}')
        self._named.update(skipped)
        if skipped:
            runner.logger.info(f'image files skipped in training so far: {len(skipped)} '
                               '(missing or undecodable)')
