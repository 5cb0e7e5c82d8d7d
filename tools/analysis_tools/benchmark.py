"""Benchmarks: codecs vs mmpose, RoIAlign layers, training throughput, inference latency, per-part
profile.

    python tools/analysis_tools/benchmark.py codec [--num-rois 100 1000] [--device cpu|cuda] [--repeat 5]
    python tools/analysis_tools/benchmark.py roi-align [--num-rois 128 512] [--channels-last]
    python tools/analysis_tools/benchmark.py train CONFIG [--img-size 512] [--batch 2] [--iters 10]
                                                          [--warmup 3] [--fp16] [--cpu-bf16]
                                                          [--vs-torchvision]
    python tools/analysis_tools/benchmark.py infer CONFIG [--img-size 512] [--iters 20] [--fp16]
                                                          [--vs-torchvision]
    python tools/analysis_tools/benchmark.py profile CONFIG [--data-root DIR] [--vs-torchvision]
                                                            [--top-ops 15] [--cpu-bf16 [ab]]
    python tools/analysis_tools/benchmark.py data [--num-images 64115] [--num-persons 262465]
                                                  [--eval-images 5000] [--dets-per-image 20]
    python tools/analysis_tools/benchmark.py onnx CONFIG [--img-size 512] [--iters 10]
                                                         [--checkpoint CKPT]
    python tools/analysis_tools/benchmark.py crowd [--config CONFIG ...] [--people 1 2 4 ... 64]
                                                   [--img-size 480x640] [--iters 3] [--topdown-flip]

Every subcommand takes --json OUT.json (figures + machine info). docs/benchmarks.md explains the
figures. This file parses arguments; the modules beside it measure: benchmark_codec.py,
benchmark_roi_align.py, benchmark_model.py (train, infer), benchmark_profile.py, benchmark_data.py
(dataset loading and evaluation at COCO's size), benchmark_onnx.py (onnxruntime vs PyTorch),
benchmark_crowd.py (one network vs mmdet detector + mmpose top-down as the crowd grows) and
benchmark_utils.py (timing, memory, machine info, JSON). Figures are printed and written, never
asserted: the tests check keys and agreement, never time.
"""
import argparse
import os
import sys

# The helper modules sit beside this file and are imported by name, wherever the tool is run from.
_TOOL_DIR = os.path.dirname(os.path.abspath(__file__))
if _TOOL_DIR not in (os.path.abspath(p) for p in sys.path):
    sys.path.insert(0, _TOOL_DIR)

import benchmark_codec  # noqa: E402
import benchmark_crowd  # noqa: E402
import benchmark_data  # noqa: E402
import benchmark_model  # noqa: E402
import benchmark_onnx  # noqa: E402
import benchmark_profile  # noqa: E402
import benchmark_roi_align  # noqa: E402
import benchmark_utils  # noqa: E402
import torch  # noqa: E402
from mmcv import DictAction  # noqa: E402

import mmhrkpt  # noqa: F401,E402  (mmpose through mmhrkpt, registries)


def image_size(text):
    """``--img-size``: S (square) or HxW, e.g. 800x1344 (COCO's 800x1333 padded to 32)."""
    parts = text.lower().split('x')
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or min(sizes, default=0) <= 0:
        raise argparse.ArgumentTypeError(f'image size must be S or HxW, got {text!r}')
    return sizes[0] if len(sizes) == 1 else tuple(sizes)


def _common(parser, model=True):
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='cpu or cuda[:i] (default: cuda when available)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch.set_num_threads (default: torch\'s, i.e. OMP_NUM_THREADS)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the synthetic inputs')
    parser.add_argument('--json', metavar='OUT.json', help='write figures and machine info here')
    if model:
        parser.add_argument('config', help='model config (pre-trained weights are never loaded)')
        parser.add_argument(
            '--img-size', type=image_size, default=512, help='square image side S, or HxW (e.g. 800x1344)')
        parser.add_argument(
            '--vs-torchvision',
            action='store_true',
            help="also torchvision's keypointrcnn_resnet50_fpn on the same inputs")
        parser.add_argument(
            '--tv-variant',
            choices=benchmark_model.TORCHVISION_VARIANTS,
            default='finetune',
            help='torchvision backbone layout: finetune = FrozenBN + 3 trainable '
            'layers (as with pre-trained weights), scratch = weights=None '
            '(BatchNorm2d, all layers trainable)')
        parser.add_argument(
            '--cfg-options',
            nargs='+',
            action=DictAction,
            help='override config settings, e.g. model.roi_head.keypoint_head.'
            'codec.type=DarkHeatmap')


def _jitter(parser):
    parser.add_argument(
        '--jitter-proposals',
        type=int,
        default=0,
        metavar='J',
        help='add J jittered copies of each ground-truth box to the RPN proposals, '
        'so the RoI branches see as many positives as with a trained RPN')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='mmhrkpt benchmarks (docs/benchmarks.md)')
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('codec', help='heatmap encode/decode vs mmpose 0.29')
    _common(p, model=False)
    p.add_argument('--num-rois', type=int, nargs='+', default=[100, 1000], help='N values')
    p.add_argument(
        '--methods',
        nargs='+',
        choices=benchmark_codec.CODEC_METHODS,
        default=list(benchmark_codec.CODEC_METHODS))
    p.add_argument('--repeat', type=int, default=5, help='timed calls per figure (median)')

    p = sub.add_parser(
        'roi-align',
        help="RoIAlign layers (mmcv's, TVRoIAlign, SparseRoIAlign): "
        'forward / backward time and agreement')
    _common(p, model=False)
    p.add_argument('--num-rois', type=int, nargs='+', default=[128, 512], help='N values')
    p.add_argument(
        '--layers',
        nargs='+',
        choices=benchmark_roi_align.ROI_ALIGN_LAYERS,
        default=list(benchmark_roi_align.ROI_ALIGN_LAYERS))
    p.add_argument(
        '--sampling-ratios', type=int, nargs='+', default=[2, 0], help='0: adaptive (mmdet\'s box default)')
    p.add_argument('--channels', type=int, default=64)
    p.add_argument('--feat-size', type=int, default=64, help='feature map side (stride 4)')
    p.add_argument('--channels-last', action='store_true', help='features in channels_last layout')
    p.add_argument('--repeat', type=int, default=5, help='timed calls per figure (median)')

    p = sub.add_parser('train', help='steady-state training throughput and peak memory')
    _common(p)
    p.add_argument('--batch', type=int, default=2, help='images per iteration')
    p.add_argument('--iters', type=int, default=10, help='timed iterations')
    p.add_argument('--warmup', type=int, default=3, help='untimed iterations first')
    p.add_argument('--fp16', action='store_true', help='mixed precision (CUDA only)')
    p.add_argument(
        '--cpu-bf16',
        action='store_true',
        help='ours with bfloat16 autocast on a CPU with native bf16 (cpu_bf16 = True)')
    _jitter(p)

    p = sub.add_parser('infer', help='per-image latency in eval mode')
    _common(p)
    p.add_argument('--iters', type=int, default=20, help='timed images')
    p.add_argument('--warmup', type=int, default=3, help='untimed images first')
    p.add_argument('--fp16', action='store_true', help='mixed precision (CUDA only)')
    p.add_argument(
        '--top-ops',
        type=int,
        default=0,
        help='also list the N operators with most self time (torch.profiler)')

    p = sub.add_parser('profile', help='one training iteration broken down into its parts')
    _common(p)
    p.add_argument('--batch', type=int, default=2, help='images per iteration')
    p.add_argument('--iters', type=int, default=3, help='profiled iterations (median)')
    p.add_argument('--warmup', type=int, default=1, help='untimed iterations first')
    _jitter(p)
    p.add_argument(
        '--data-root',
        help='COCO-format keypoint data (annotations/person_keypoints_'
        'train*.json + images/train/ or train2017/) to time data loading')
    p.add_argument(
        '--top-ops',
        type=int,
        default=0,
        help='also list the N operators with most self time (torch.profiler)')
    p.add_argument(
        '--cpu-bf16',
        nargs='?',
        const='on',
        default='off',
        choices=benchmark_utils.CPU_BF16_MODES,
        help='ours with bfloat16 autocast (cpu_bf16 = True); "--cpu-bf16 ab": ours in '
        'float32 and with bf16, iterations interleaved, side by side with their losses')

    p = sub.add_parser(
        'data',
        help="CocoKeypointDataset on a generated json of COCO's size: "
        'loading vs pycocotools (time, memory), evaluation vs COCOeval')
    _common(p, model=False)
    p.add_argument(
        '--num-images',
        type=int,
        default=benchmark_data.COCO_TRAIN_IMAGES,
        help='images of the training-sized json (default: person_keypoints_train2017)')
    p.add_argument(
        '--num-persons',
        type=int,
        default=benchmark_data.COCO_TRAIN_PERSONS,
        help='person annotations of the training-sized json')
    p.add_argument(
        '--eval-images',
        type=int,
        default=benchmark_data.COCO_VAL_IMAGES,
        help='images of the evaluated json (default: val2017)')
    p.add_argument(
        '--eval-persons',
        type=int,
        default=benchmark_data.COCO_VAL_PERSONS,
        help='person annotations of the evaluated json')
    p.add_argument('--dets-per-image', type=int, default=20, help='detections per evaluated image')
    p.add_argument(
        '--repeat',
        type=int,
        default=1,
        help='loads of each kind, alternating, each in a fresh interpreter (fastest kept)')
    p.add_argument('--work-dir', help='keep the generated jsons here (default: a temporary folder)')

    p = sub.add_parser('onnx', help='onnxruntime (CPU) latency next to PyTorch\'s, same config and input')
    _common(p, model=False)
    p.add_argument('config', help='model config')
    p.add_argument('--img-size', type=int, default=512, help='square input side S')
    p.add_argument('--iters', type=int, default=10, help='timed images per runtime')
    p.add_argument('--warmup', type=int, default=2, help='untimed images first')
    p.add_argument('--checkpoint', help='weights to load (default: random init, detections forced)')
    p.add_argument('--opset', type=int, default=benchmark_onnx.DEFAULT_OPSET, help='ONNX opset')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    p = sub.add_parser(
        'crowd',
        help='latency per image as the persons grow: this project\'s configs vs mmdet Faster R-CNN + '
        'mmpose top-down HRNet-W32 DARK')
    _common(p, model=False)
    p.add_argument(
        '--config',
        nargs='+',
        default=[benchmark_crowd.DEFAULT_CONFIG],
        help='this project\'s configs (the first is "ours" in the JSON)')
    p.add_argument(
        '--people', type=int, nargs='+', default=list(benchmark_crowd.DEFAULT_PEOPLE), help='N values')
    p.add_argument(
        '--img-size',
        type=image_size,
        default=benchmark_crowd.DEFAULT_IMAGE_HW,
        help='the image, HxW (or S): each pipeline resizes it as its test config says')
    p.add_argument('--iters', type=int, default=3, help='timed calls per pipeline and N (median)')
    p.add_argument('--warmup', type=int, default=1, help='untimed calls per pipeline before the first N')
    p.add_argument(
        '--topdown-flip',
        action='store_true',
        help="mmpose's flip test on (its config's default; ours has none)")
    p.add_argument('--plot', metavar='OUT.png', help='latency plot (default: beside --json, else crowd.png)')
    p.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='overrides for this project\'s configs')
    p.add_argument(
        '--det-cfg-options', nargs='+', action=DictAction, help="overrides for mmdet's Faster R-CNN config")
    p.add_argument(
        '--pose-cfg-options', nargs='+', action=DictAction, help="overrides for mmpose's top-down config")
    args = parser.parse_args(argv)
    if args.command == 'onnx' and args.device != 'cpu':
        parser.error('onnx: onnxruntime runs on the CPU here; give --device cpu')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = benchmark_utils.machine_info(args.device)
    if args.command == 'codec':
        results = benchmark_codec.bench_codec(args.num_rois, args.methods, args.device, args.repeat,
                                              args.seed)
        print(benchmark_codec.format_codec(results))
    elif args.command == 'roi-align':
        results = benchmark_roi_align.bench_roi_align(
            args.num_rois,
            layers=args.layers,
            sampling_ratios=args.sampling_ratios,
            channels=args.channels,
            feat_size=args.feat_size,
            device=args.device,
            repeat=args.repeat,
            seed=args.seed,
            channels_last=args.channels_last)
        print(benchmark_roi_align.format_roi_align(results))
    elif args.command == 'train':
        results = benchmark_model.bench_train(args.config, args.img_size, args.batch, args.iters, args.warmup,
                                              args.device, args.fp16, args.vs_torchvision, args.tv_variant,
                                              args.cfg_options, args.seed, args.jitter_proposals,
                                              args.cpu_bf16)
        print(benchmark_model.format_train(results))
    elif args.command == 'infer':
        results = benchmark_model.bench_infer(args.config, args.img_size, args.iters, args.warmup,
                                              args.device, args.vs_torchvision, args.tv_variant,
                                              args.cfg_options, args.seed, args.top_ops, args.fp16)
        print(benchmark_model.format_infer(results))
    elif args.command == 'data':
        results = benchmark_data.bench_data(args.num_images, args.num_persons, args.eval_images,
                                            args.eval_persons, args.dets_per_image, args.repeat,
                                            args.work_dir, args.seed)
        print(benchmark_data.format_data(results))
    elif args.command == 'onnx':
        results = benchmark_onnx.bench_onnx(args.config, args.img_size, args.iters, args.warmup,
                                            args.checkpoint, args.cfg_options, args.seed, args.opset,
                                            args.threads)
        print(benchmark_onnx.format_onnx(results))
    elif args.command == 'crowd':
        img_hw = args.img_size if isinstance(args.img_size, tuple) else (args.img_size, args.img_size)
        results = benchmark_crowd.bench_crowd(args.config, args.people, img_hw, args.iters, args.warmup,
                                              args.device, args.seed, args.cfg_options, args.det_cfg_options,
                                              args.pose_cfg_options, args.topdown_flip)
        print(benchmark_crowd.format_crowd(results))
    else:
        results = benchmark_profile.bench_profile(args.config, args.img_size, args.batch, args.iters,
                                                  args.warmup, args.device, args.data_root,
                                                  args.vs_torchvision, args.tv_variant, args.top_ops,
                                                  args.cfg_options, args.seed, args.jitter_proposals,
                                                  args.cpu_bf16)
        print(benchmark_profile.format_profile(results))
    if args.json:
        benchmark_utils.write_json(args.json, args.command, dict(vars(args), argv=sys.argv), results, machine)
        print(f'figures written to {args.json}')
    if args.command == 'crowd':  # after the JSON: a plotting error must not lose the figures
        plot = args.plot or (os.path.splitext(args.json)[0] + '.png' if args.json else 'crowd.png')
        benchmark_crowd.plot_crowd(results, plot)
        print(f'plot written to {plot}')


if __name__ == '__main__':
    main()
