"""mmcv Runner hooks: keypoint evaluation, a stop on non-finite losses, prediction pictures."""
import math
import os.path as osp

import mmcv
import numpy as np
import torch
from mmcv.runner import HOOKS, Hook, get_dist_info
from mmdet.core import DistEvalHook, EvalHook

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
    gradients are never applied and the last checkpoint written stays the last good one.
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
                f'Non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): {what}. '
                'Training stopped; the last checkpoint written is the last good one.')


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
