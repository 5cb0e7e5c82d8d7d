"""Test loops over a data loader, for tools/test.py and the evaluation hook.

mmdet's own loops assume that a tuple result holds masks and RLE-encode its second part; here the
second part is keypoints, kept as arrays.
"""
import os.path as osp

import mmcv
import torch
from mmcv.runner import get_dist_info
from mmdet.apis.test import collect_results_cpu, collect_results_gpu


def single_gpu_test(model, data_loader, show=False, out_dir=None, show_score_thr=0.3):
    """Run ``model`` (wrapped in MMDataParallel) over ``data_loader``, with a progress bar.

    Returns:
        list[tuple]: per image ``(bbox_results, keypoint_results)``, dataset order.
    """
    model.eval()
    results = []
    dataset = data_loader.dataset
    prog_bar = mmcv.ProgressBar(len(dataset))
    for data in data_loader:
        with torch.no_grad():
            result = model(return_loss=False, rescale=True, **data)
        if show or out_dir:
            img_metas = data['img_metas'][0].data[0]
            for res, meta in zip(result, img_metas):
                out_file = osp.join(out_dir, meta['ori_filename']) if out_dir else None
                model.module.show_result(
                    meta['filename'],
                    res,
                    show=show,
                    out_file=out_file,
                    score_thr=show_score_thr,
                    skeleton=getattr(dataset, 'skeleton', None),
                    keypoint_names=getattr(dataset, 'keypoint_names', None))
        results.extend(result)
        for _ in range(len(result)):
            prog_bar.update()
    return results


def multi_gpu_test(model, data_loader, tmpdir=None, gpu_collect=False):
    """Distributed test: each rank runs its shard; rank 0 returns all results in dataset order."""
    model.eval()
    results = []
    dataset = data_loader.dataset
    rank, world_size = get_dist_info()
    prog_bar = mmcv.ProgressBar(len(dataset)) if rank == 0 else None
    for data in data_loader:
        with torch.no_grad():
            result = model(return_loss=False, rescale=True, **data)
        results.extend(result)
        if prog_bar is not None:
            for _ in range(len(result) * world_size):
                prog_bar.update()
    if gpu_collect:
        return collect_results_gpu(results, len(dataset))
    return collect_results_cpu(results, len(dataset), tmpdir)
