"""Parameters and FLOPs of a Keypoint R-CNN, part by part:

    python tools/analysis_tools/get_flops.py CONFIG --shape H W [--num-rois N]

Counted with mmcv's ``get_model_complexity_info`` (one FLOP = one multiply-add, as mmcv and mmdet
count) on the detector's ``forward_dummy`` for one image of (H, W) padded to ``--size-divisor``:
backbone, neck, RPN, the box head on the 1000 random proposals of mmdet's ``forward_dummy`` and the
keypoint branch, which ``KeypointRoIHead.forward_dummy`` runs on the first 100 of them. The keypoint
head is also counted alone on a Tensor[1, C, h, w] of its ``roi_feat_size``: that is the per-RoI
figure (checked against the forward_dummy count), times N for N RoIs (the head runs once per RoI).
What mmcv does not count is left out: RoI pooling, anchor generation, NMS, the heatmap decoding.
"""
import argparse
import sys

import numpy as np
import torch
from mmcv import Config, DictAction
from mmcv.cnn import get_model_complexity_info
from mmcv.cnn.utils.flops_counter import flops_to_string, params_to_string
from mmdet.models import build_detector

import mmhrkpt  # noqa: F401  (registers mmhrkpt's modules)
from mmhrkpt.utils import run_reporting_errors

# mmcv's counter leaves these attributes on every module it counted.
_COUNTER_ATTRS = ('__flops__', '__params__')


def parse_args():
    parser = argparse.ArgumentParser(description='Params and FLOPs of a Keypoint R-CNN, by part')
    parser.add_argument('config')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'), default=[800, 1333], help='input image size (H W)')
    parser.add_argument(
        '--num-rois',
        type=int,
        default=None,
        help='RoIs of the keypoint branch (default: test_cfg.rcnn.max_per_img)')
    parser.add_argument(
        '--size-divisor',
        type=int,
        default=32,
        help='pad the image to a multiple of this (the test pipeline pads too)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    if min(args.shape) < 1 or (args.num_rois is not None and args.num_rois < 0):
        parser.error('--shape needs positive sizes and --num-rois a count >= 0')
    return args


def counted_flops(module):
    """The FLOPs mmcv's counter recorded in ``module`` and its children (and clears its records)."""
    total = 0
    for m in module.modules():
        total += getattr(m, '__flops__', 0)
        for attr in _COUNTER_ATTRS:
            if hasattr(m, attr):
                delattr(m, attr)
    return total


def num_params(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def keypoint_head_flops(head):
    """FLOPs of the keypoint head on the RoI features of one RoI, Tensor[1, C, h, w]."""
    shape = (head.in_channels, ) + tuple(head.roi_feat_size)
    with torch.no_grad():
        flops, _ = get_model_complexity_info(head, shape, print_per_layer_stat=False, as_strings=False)
    counted_flops(head)
    return flops


def model_complexity(model, shape, num_rois):
    """Params and FLOPs of each part of ``model`` for one image of ``shape`` (3, H, W).

    Returns:
        tuple: rows (list of (part, params, FLOPs), the last one the total) and the number of RoIs
        ``forward_dummy`` ran the keypoint head on (0 if it does not run the keypoint branch).
    """
    model.eval()
    head = model.roi_head.keypoint_head
    per_roi = keypoint_head_flops(head)
    seen_rois = []
    handle = head.register_forward_hook(lambda m, inputs, out: seen_rois.append(len(inputs[0])))
    forward = model.forward
    model.forward = model.forward_dummy
    try:
        with torch.no_grad():
            get_model_complexity_info(model, shape, print_per_layer_stat=False, as_strings=False)
    finally:
        model.forward = forward
        handle.remove()
    roi_head = model.roi_head
    rows = [('backbone', num_params(model.backbone), counted_flops(model.backbone)),
            ('neck', num_params(model.neck), counted_flops(model.neck)),
            ('rpn_head', num_params(model.rpn_head), counted_flops(model.rpn_head)),
            ('bbox_head (1000 RoIs of forward_dummy)',
             num_params(roi_head.bbox_roi_extractor, roi_head.bbox_head),
             counted_flops(roi_head.bbox_roi_extractor) + counted_flops(roi_head.bbox_head))]
    dummy = counted_flops(head)
    if seen_rois and sum(seen_rois) and dummy != per_roi * sum(seen_rois):
        raise RuntimeError(f'forward_dummy ran the keypoint head on {sum(seen_rois)} RoIs for {dummy} '
                           f'FLOPs, not {sum(seen_rois)} x {per_roi} per RoI')
    counted_flops(model)
    kpt_params = num_params(roi_head.keypoint_roi_extractor, head)
    rows += [('keypoint_head per RoI', kpt_params, per_roi),
             (f'keypoint_head x {num_rois} RoIs', kpt_params, per_roi * num_rois)]
    total_params = num_params(model)
    other = total_params - sum(r[1] for r in rows[:4]) - kpt_params
    if other:
        rows.append(('other parts', other, 0))
    rows.append(
        (f'total ({num_rois} keypoint RoIs)', total_params, sum(r[2] for r in rows[:4]) + per_roi * num_rois))
    return rows, sum(seen_rois)


def format_rows(rows):
    width = max(len(r[0]) for r in rows)
    lines = [f'{"part":<{width}} {"params":>12} {"FLOPs":>16}', '-' * (width + 30)]
    for name, params, flops in rows:
        lines.append(f'{name:<{width}} {params_to_string(params, precision=3):>12} '
                     f'{flops_to_string(flops, units=None, precision=3):>16}')
    return '\n'.join(lines)


def main(args):
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    h, w = args.shape
    if args.size_divisor > 0:
        h, w = (int(np.ceil(s / args.size_divisor)) * args.size_divisor for s in (h, w))
    model = build_detector(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    if not hasattr(getattr(model, 'roi_head', None), 'keypoint_head'):
        raise ValueError(f'{args.config}: the model has no roi_head.keypoint_head (not a Keypoint R-CNN)')
    num_rois = args.num_rois
    if num_rois is None:
        num_rois = int(((cfg.model.get('test_cfg') or {}).get('rcnn') or {}).get('max_per_img', 100))
    rows, dummy_rois = model_complexity(model, (3, h, w), num_rois)
    padded = f' (padded from {tuple(args.shape)})' if (h, w) != tuple(args.shape) else ''
    checked = (f'forward_dummy ran the keypoint head on {dummy_rois} RoIs: {dummy_rois} x the per-RoI '
               'count' if dummy_rois else 'forward_dummy does not run the keypoint branch')
    print(f'{args.config}\ninput (3, {h}, {w}){padded}; FLOPs count multiply-adds (mmcv)\n'
          f'{format_rows(rows)}\n({checked})')


if __name__ == '__main__':
    sys.exit(run_reporting_errors(main, parse_args()))
