"""mmcv Runner hooks: keypoint evaluation, a stop on non-finite losses, a count of skipped images,
prediction pictures."""
import math
import os.path as osp

import mmcv
import numpy as np
import torch
import torch.distributed as dist
from mmcv.runner import HOOKS, Hook, get_dist_info
from mmdet.core import DistEvalHook, EvalHook
from torch.nn.modules.batchnorm import _BatchNorm

from .visualization import imshow_keypoints


class _KeypointEvalMixin:
    """Evaluation with mmhrkpt's test loop (mmdet's would RLE-encode keypoints as masks)."""

    def _do_evaluate(self, runner):
        from mmhrkpt.apis.test import multi_gpu_test, single_gpu_test
        if not self._should_evaluate(runner):
            return
        if isinstance(self, DistEvalHook):
            if self.broadcast_bn_buffer:
                self._broadcast_bn_buffer(runner)
            tmpdir = self.tmpdir or osp.join(runner.work_dir, '.eval_hook')
            results = multi_gpu_test(runner.model, self.dataloader, tmpdir=tmpdir,
                                     gpu_collect=self.gpu_collect)
            if get_dist_info()[0] != 0:
                return
            print('\n')
        else:
            results = single_gpu_test(runner.model, self.dataloader, show=False)
        runner.log_buffer.output['eval_iter_num'] = len(self.dataloader)
        key_score = self.evaluate(runner, results)
        if self.save_best and key_score:
            self._save_ckpt(runner, key_score)

    @staticmethod
    def _broadcast_bn_buffer(runner):
        """Rank 0's BatchNorm statistics to every rank before a distributed evaluation, as mmdet's
        ``DistEvalHook`` does (DDP runs with ``broadcast_buffers=False``)."""
        for module in runner.model.modules():
            if isinstance(module, _BatchNorm) and module.track_running_stats:
                dist.broadcast(module.running_var, 0)
                dist.broadcast(module.running_mean, 0)


@HOOKS.register_module()
class KeypointEvalHook(_KeypointEvalMixin, EvalHook):
    """mmdet's ``EvalHook`` over ``(bbox_results, keypoint_results)``; e.g.
    ``evaluation = dict(interval=1, metric=['bbox', 'keypoints'], save_best='keypoints_AP')``."""


@HOOKS.register_module()
class DistKeypointEvalHook(_KeypointEvalMixin, DistEvalHook):
    """``KeypointEvalHook`` for distributed training: results gathered from all ranks."""


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop at the first NaN/inf loss, naming the iteration and the losses that went bad.

    Registered with a priority above the optimizer hook, it runs before the step, so the bad
    gradients are never applied and the last checkpoint written stays the last good one
    (``mmhrkpt.apis.train_detector`` moves it there if a config gives it a lower priority, and
    adds one if a config has none). In distributed training the logged losses are averaged over
    the ranks, so every rank stops at the same iteration.
    """

    def after_train_iter(self, runner):
        log_vars = (runner.outputs or {}).get('log_vars', {})
        bad = {k: v for k, v in log_vars.items()
               if isinstance(v, (float, int)) and not math.isfinite(v)}
        if not bad:
            loss = runner.outputs.get('loss', None)
            if torch.is_tensor(loss) and not torch.isfinite(loss).all():
                bad = {'loss': float(loss.detach().sum())}
        if bad:
            what = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise FloatingPointError(
                f'Non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): '
                f'{what}. Training stopped; the last checkpoint written is the last good one.')


def leaf_datasets(dataset):
    """The datasets inside mmdet's dataset wrappers (Concat, Repeat, ClassBalanced, ...)."""
    if hasattr(dataset, 'datasets'):
        return [leaf for d in dataset.datasets for leaf in leaf_datasets(d)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


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


@HOOKS.register_module()
class KeypointVisualizationHook(Hook):
    """Every ``interval`` epochs, save predicted skeletons next to the ground truth for a few
    validation images, as ``<work_dir>/vis/epoch_<e>_<i>.png``.

    ``mmhrkpt.apis.train_detector`` gives the hook the validation dataset; without one it does
    nothing (and says so once).

    Args:
        interval (int): epochs between two drawings.
        num_images (int): how many validation images (the first ones, always the same).
        score_thr (float): instances under this score are not drawn.
        out_dir (str | None): where to write (default: ``<work_dir>/vis``).
    """

    def __init__(self, interval=1, num_images=4, score_thr=0.3, out_dir=None):
        self.interval = interval
        self.num_images = num_images
        self.score_thr = score_thr
        self.out_dir = out_dir
        self.dataset = None

    def after_train_epoch(self, runner):
        if not self.every_n_epochs(runner, self.interval) or get_dist_info()[0] != 0:
            return
        if self.dataset is None:
            runner.logger.warning('KeypointVisualizationHook: no validation dataset, nothing drawn')
            return
        out_dir = self.out_dir or osp.join(runner.work_dir, 'vis')
        files = draw_predictions(runner.model, self.dataset, out_dir, self.num_images,
                                 prefix=f'epoch_{runner.epoch + 1}_', score_thr=self.score_thr)
        runner.logger.info(f'KeypointVisualizationHook: wrote {len(files)} images to {out_dir}')


def draw_predictions(model, dataset, out_dir, num_images, prefix='', score_thr=0.3):
    """Predict the first ``num_images`` of ``dataset`` and save ground truth | prediction pictures.

    Returns:
        list[str]: the files written.
    """
    from mmcv.parallel import MMDataParallel, collate, is_module_wrapper
    net = model.module if is_module_wrapper(model) else model
    device = next(net.parameters()).device
    dp = MMDataParallel(net, device_ids=[device.index or 0] if device.type == 'cuda' else None)
    was_training = net.training
    net.eval()
    files = []
    try:
        for i in range(min(num_images, len(dataset))):
            data = collate([dataset[i]], samples_per_gpu=1)
            with torch.no_grad():
                result = dp(return_loss=False, rescale=True, **data)[0]
            info = dataset.data_infos[i]
            img = mmcv.imread(osp.join(dataset.img_prefix or '', info['filename']))
            ann = dataset.get_ann_info(i)
            gt = imshow_keypoints(img, ann['bboxes'], ann['keypoints'],
                                  skeleton=dataset.skeleton, keypoint_names=dataset.keypoint_names,
                                  kpt_thr=0)
            bbox_results, keypoint_results = result
            bboxes = np.concatenate([b.reshape(-1, 5) for b in bbox_results])
            kpts = np.concatenate([k.reshape(-1, dataset.num_keypoints, 3)
                                   for k in keypoint_results])
            pred = imshow_keypoints(img, bboxes, kpts, skeleton=dataset.skeleton,
                                    keypoint_names=dataset.keypoint_names, score_thr=score_thr)
            _label(gt, 'ground truth')
            _label(pred, 'prediction')
            out_file = osp.join(out_dir, f'{prefix}{i}.png')
            mmcv.imwrite(np.concatenate([gt, pred], axis=1), out_file)
            files.append(out_file)
    finally:
        net.train(was_training)
    return files


def _label(img, text):
    import cv2
    cv2.putText(img, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                cv2.LINE_AA)
