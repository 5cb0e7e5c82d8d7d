"""Keypoint evaluation during training: mmdet's evaluation hooks over mmhrkpt's test loops."""
import os.path as osp

import torch.distributed as dist
from mmcv.runner import HOOKS, get_dist_info
from mmdet.core import DistEvalHook, EvalHook
from torch.nn.modules.batchnorm import _BatchNorm


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
            results = multi_gpu_test(
                runner.model, self.dataloader, tmpdir=tmpdir, gpu_collect=self.gpu_collect)
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
