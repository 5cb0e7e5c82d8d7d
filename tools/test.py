"""Test a Keypoint R-CNN checkpoint:

    python tools/test.py CONFIG CHECKPOINT --eval bbox keypoints
    python tools/test.py CONFIG CHECKPOINT --format-only --eval-options jsonfile_prefix=results/val
    python tools/test.py CONFIG CHECKPOINT --eval keypoints --gt-bboxes

``--gt-bboxes`` hands the keypoint branch the test set's ground-truth boxes (every non-crowd person
with at least one labelled keypoint, box score 1) instead of the detections, as top-down methods
report their AP with ``use_gt_bbox``: the keypoint AP of the keypoint branch alone, which says how
much of the end-to-end AP the detector costs. Instance scores are rescored as at test time.
"""
import argparse
import json
import os.path as osp
import time

import mmcv
import numpy as np
import torch
from mmcv import Config, DictAction
from mmcv.parallel import DataContainer
from mmcv.runner import get_dist_info, load_checkpoint
from mmdet.core import bbox2result
from mmdet.datasets import build_dataloader, build_dataset, replace_ImageToTensor
from mmdet.models import build_detector
from mmdet.utils import setup_multi_processes

import mmhrkpt  # noqa: F401  (registers mmhrkpt's modules)
from mmhrkpt.apis import multi_gpu_test, single_gpu_test
from mmhrkpt.engine import LAUNCHERS, init_distributed, shared_tmpdir, wrap_model
from mmhrkpt.models.roi_heads import keypoint2result


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a Keypoint R-CNN')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to write the evaluation metrics as JSON')
    parser.add_argument('--out', help='results as a pickle file')
    parser.add_argument('--eval', type=str, nargs='+', help='metrics: bbox keypoints')
    parser.add_argument(
        '--format-only',
        action='store_true',
        help='write COCO results json (PREFIX.bbox.json, PREFIX.keypoints.json) '
        'without evaluating; give --eval-options jsonfile_prefix=PREFIX')
    parser.add_argument(
        '--gt-bboxes',
        action='store_true',
        help='keypoints in the ground-truth person boxes instead of the detections '
        '(the keypoint branch alone; one process, --eval keypoints only)')
    parser.add_argument('--show', action='store_true', help='show results in a window')
    parser.add_argument('--show-dir', help='save images with boxes and skeletons drawn here')
    parser.add_argument('--show-score-thr', type=float, default=0.3)
    parser.add_argument('--gpu-collect', action='store_true')
    parser.add_argument('--tmpdir', help='tmp dir for collecting results from ranks')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. data.test.ann_file=x.json')
    parser.add_argument(
        '--eval-options',
        nargs='+',
        action=DictAction,
        help='kwargs for dataset.evaluate() / format_results()')
    parser.add_argument(
        '--launcher',
        choices=LAUNCHERS,
        default='none',
        help='job launcher (pytorch: torchrun, see tools/dist_test.sh; slurm: srun, '
        'see tools/slurm_test.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if not (args.out or args.eval or args.format_only or args.show or args.show_dir):
        parser.error('nothing to do: give --out, --eval, --format-only, --show or --show-dir')
    if args.eval and args.format_only:
        parser.error('--eval and --format-only cannot both be given')
    if args.gt_bboxes:
        if args.launcher != 'none':
            parser.error('--gt-bboxes runs in one process (--launcher none)')
        if args.show or args.show_dir:
            parser.error('--show and --show-dir draw the detections; not with --gt-bboxes')
        if args.eval and 'bbox' in args.eval:
            parser.error('--gt-bboxes: the box AP of the ground-truth boxes is 1 by construction; '
                         'evaluate keypoints only (--eval keypoints)')
    return args


def _unwrap(item):
    """The batch's content of a data-loader field (``DataContainer`` or plain)."""
    return item.data[0] if isinstance(item, DataContainer) else item


def gt_bbox_boxes(dataset, index):
    """Tensor[n, 5] (x1, y1, x2, y2, 1) and Tensor[n] labels of the non-crowd persons of image
    ``index`` that have at least one labelled keypoint, in original-image pixels."""
    anns = dataset.coco.load_anns(dataset.coco.get_ann_ids(img_ids=[dataset.img_ids[index]]))
    boxes, labels = [], []
    for ann in anns:
        if ann.get('iscrowd', 0) or ann.get('category_id') not in dataset.cat2label:
            continue
        visible = np.asarray(ann.get('keypoints', []), dtype=np.float32)[2::3]
        if ann.get('num_keypoints', int(np.count_nonzero(visible))) <= 0:
            continue
        x, y, w, h = ann['bbox']
        if w <= 0 or h <= 0:
            continue
        boxes.append([x, y, x + w, y + h, 1.0])
        labels.append(dataset.cat2label[ann['category_id']])
    return (torch.tensor(boxes, dtype=torch.float32).reshape(-1, 5), torch.tensor(labels, dtype=torch.long))


@torch.no_grad()
def gt_bbox_test(model, data_loader):
    """Per image ``(bbox_results, keypoint_results)`` of the keypoint branch on the ground-truth boxes
    (:func:`gt_bbox_boxes`); the box score column carries the rescored instance score."""
    model.eval()
    dataset = data_loader.dataset
    if not hasattr(dataset, 'coco'):
        raise TypeError(f'--gt-bboxes reads the ground truth of a COCO-style dataset; '
                        f'{type(dataset).__name__} has no .coco')
    device = next(model.parameters()).device
    num_classes = model.roi_head.bbox_head.num_classes
    results, index = [], 0
    prog_bar = mmcv.ProgressBar(len(dataset))
    for data in data_loader:
        img = _unwrap(data['img'][0]).to(device)
        img_metas = _unwrap(data['img_metas'][0])
        gts = [gt_bbox_boxes(dataset, index + i) for i in range(len(img_metas))]
        index += len(img_metas)
        x = model.extract_feat(img)
        keypoints, scores = model.roi_head.simple_test_keypoints(
            x, img_metas, [b.to(device) for b, _ in gts], rescale=True)
        for (boxes, labels), k, sc in zip(gts, keypoints, scores):
            b = torch.cat([boxes[:, :4], sc.cpu()[:, None]], dim=1)
            results.append((bbox2result(b, labels, num_classes), keypoint2result(k, labels, num_classes)))
            prog_bar.update()
    return results


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    setup_multi_processes(cfg)  # opencv_num_threads, mp_start_method of the config
    cfg.model.pretrained = None
    if cfg.model.get('backbone', None) is not None:
        cfg.model.backbone.init_cfg = None  # the checkpoint has the weights
    cfg.model.train_cfg = None
    distributed = init_distributed(args.launcher, port=cfg.get('dist_params', {}).get('port'))
    rank, _ = get_dist_info()

    loader_cfg = dict(
        samples_per_gpu=1,
        workers_per_gpu=cfg.data.get('workers_per_gpu', 2),
        dist=distributed,
        shuffle=False)
    loader_cfg.update(cfg.data.get('test_dataloader', {}))
    cfg.data.test.test_mode = True
    if loader_cfg['samples_per_gpu'] > 1:
        cfg.data.test.pipeline = replace_ImageToTensor(cfg.data.test.pipeline)
    dataset = build_dataset(cfg.data.test)
    data_loader = build_dataloader(dataset, **loader_cfg)

    model = build_detector(cfg.model, test_cfg=cfg.get('test_cfg'))
    checkpoint = load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.CLASSES = checkpoint.get('meta', {}).get('CLASSES', dataset.CLASSES)

    on_gpu = torch.cuda.is_available()
    if args.gt_bboxes:
        outputs = gt_bbox_test(model.to('cuda' if on_gpu else 'cpu'), data_loader)
    elif not distributed:
        model = wrap_model(model, 'cuda' if on_gpu else 'cpu', distributed)
        outputs = single_gpu_test(model, data_loader, args.show, args.show_dir, args.show_score_thr)
    else:
        model = wrap_model(model, 'cuda' if on_gpu else 'cpu', distributed)
        if args.gpu_collect and not on_gpu:
            raise ValueError('--gpu-collect needs GPUs; on CPU results are collected through '
                             '--tmpdir (a temporary folder by default)')
        # mmdet's collection makes its own temporary folder through a CUDA tensor: on CPU, agree
        # on one here (collect_results_cpu removes it)
        tmpdir = args.tmpdir or (None if on_gpu or args.gpu_collect else shared_tmpdir())
        outputs = multi_gpu_test(model, data_loader, tmpdir, args.gpu_collect)

    if rank != 0:
        return
    if args.out:
        print(f'\nwriting results to {args.out}')
        mmcv.dump(outputs, args.out)
    kwargs = args.eval_options or {}
    if args.format_only:
        result_files, _ = dataset.format_results(outputs, **kwargs)
        print('\nwrote ' + ', '.join(sorted(result_files.values())))
    if args.eval:
        metrics = dataset.evaluate(outputs, metric=args.eval, **kwargs)
        print(metrics)
        if args.work_dir is not None:
            mmcv.mkdir_or_exist(osp.abspath(args.work_dir))
            out = osp.join(args.work_dir, f'eval_{time.strftime("%Y%m%d_%H%M%S")}.json')
            with open(out, 'w') as f:
                json.dump(dict(config=args.config, checkpoint=args.checkpoint, metric=metrics), f, indent=1)


if __name__ == '__main__':
    main()
