"""Export a Keypoint R-CNN to one ONNX graph (boxes, labels and decoded keypoints) and check it against
PyTorch:

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --output-file M.onnx --shape H W \\
        [--dynamic-export] [--opset 17] [--input-img IMG] [--verify] [--cfg-options ...]

The graph's input ``input`` is float32 [1, 3, H, W], the image after the config's test pipeline
(resized, normalised, padded); its outputs ``dets`` [N, 5], ``labels`` [N], ``keypoints`` [N, K, 3] are
in the pixels of ``input`` (docs in the model's metadata, ``mmhrkpt/deployment/onnx_export.py``). The
export traces one input: ``--input-img`` (or a generated picture of synthetic people) resized to fit
(H, W) and padded to it. ``--verify`` runs that input through onnxruntime and PyTorch, prints the
largest differences and exits with 1 beyond the tolerances (``COORD_TOL``, ``SCORE_TOL``).
"""
import argparse
import os
import sys

import mmcv
import numpy as np
import torch
from mmcv import DictAction

from mmhrkpt.apis import init_model
from mmhrkpt.deployment.meta import model_meta
from mmhrkpt.deployment.onnx_detector import create_session, preprocess
from mmhrkpt.deployment.onnx_export import (DEFAULT_OPSET, compare_outputs, export_onnx, format_comparison,
                                            onnx_outputs, pytorch_outputs)

# The picture traced and verified on when no --input-img is given.
SYNTHETIC_SEED = 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a Keypoint R-CNN to ONNX')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--output-file', required=True, help='the .onnx file to write')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        required=True,
        metavar=('H', 'W'),
        help='input size (a multiple of the test pipeline\'s size_divisor)')
    parser.add_argument(
        '--dynamic-export',
        action='store_true',
        help='leave H and W of the input free (the graph takes any padded size)')
    parser.add_argument(
        '--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset (>= 16 for '
        'RoIAlign aligned=True)')
    parser.add_argument('--input-img', help='image to trace and verify with (default: synthetic people)')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare onnxruntime with PyTorch on the input; exit 1 beyond tolerances')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.test_cfg.rcnn.score_thr=0.3')
    return parser.parse_args(argv)


def load_image(path, shape):
    """BGR uint8 image: ``path``, or synthetic people of size ``shape`` (H, W)."""
    if path is None:
        from mmhrkpt.testing.synthetic import synthesize_image
        return synthesize_image(np.random.default_rng(SYNTHETIC_SEED), image_size=tuple(shape))[0]
    if not os.path.isfile(path):
        raise FileNotFoundError(f'--input-img {path} does not exist')
    return mmcv.imread(path)


def fit_input(img, meta, shape):
    """``img`` resized (aspect kept) to fit ``shape`` (H, W), normalised as the config says and padded
    to (H, W): the array [1, 3, H, W] and the (h, w) of the image in it."""
    height, width = shape
    divisor = meta.get('size_divisor', 1)
    if height % divisor or width % divisor:
        raise ValueError(f'--shape {height} {width} must be a multiple of the test pipeline\'s '
                         f'size_divisor {divisor}')
    factor = min(height / img.shape[0], width / img.shape[1])
    size = [min(int(img.shape[1] * factor + 0.5), width), min(int(img.shape[0] * factor + 0.5), height)]
    inputs, img_shape, _ = preprocess(img, dict(meta, keep_ratio=False, test_scale=size), shape)
    return inputs, img_shape


def main(argv=None):
    args = parse_args(argv)
    model = init_model(args.config, args.checkpoint, device='cpu', cfg_options=args.cfg_options)
    meta = model_meta(model.cfg, model)
    meta.update(input_shape=list(args.shape), dynamic=bool(args.dynamic_export))
    inputs, img_shape = fit_input(load_image(args.input_img, args.shape), meta, args.shape)
    example = torch.from_numpy(inputs)
    flip_pairs = meta['flip_pairs']
    export_onnx(
        model,
        args.output_file,
        example,
        meta,
        dynamic=args.dynamic_export,
        opset=args.opset,
        flip_pairs=flip_pairs)
    size = 'any H, W' if args.dynamic_export else f'H={args.shape[0]}, W={args.shape[1]}'
    print(f'wrote {args.output_file} ({os.path.getsize(args.output_file) / 2**20:.1f} MB, opset '
          f'{args.opset}): input float32 [1, 3, H, W] ({size}), outputs dets [N, 5], labels [N], '
          f"keypoints [N, {meta['num_keypoints']}, 3]; codec {meta['codec']}")
    if meta['flip_test']:
        print('flip test: in the graph (test_cfg.rcnn.keypoint.flip_test=True)')
    else:
        print('flip test: off in the config (test_cfg.rcnn.keypoint.flip_test=False), so not in the graph; '
              'PyTorch is compared with it off')
    if not args.verify:
        return 0
    session = create_session(args.output_file)
    reference = pytorch_outputs(model, example, img_shape, flip_pairs)
    outputs = onnx_outputs(session, inputs, img_shape)
    result = compare_outputs(reference, outputs, max(args.shape))
    print(f'verify on a {args.shape[0]}x{args.shape[1]} input (image {img_shape[0]}x{img_shape[1]} in it), '
          'onnxruntime (CPU) vs PyTorch:')
    print(format_comparison(result))
    return 0 if result['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
