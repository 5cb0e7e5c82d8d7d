"""``benchmark.py onnx``: onnxruntime's CPU latency next to PyTorch's, one config, the same inputs.

Shape legend: S the image side, N detections.

The config's model (random init with the detections forced as for ``infer``, or a checkpoint's
weights) is exported with ``tools/deployment/pytorch2onnx.py``'s code to a temporary file (a fixed
S x S input), then both run every image: PyTorch ``KeypointRCNN.simple_test`` under ``torch.no_grad``
and the onnxruntime session, alternately, so both see the same machine load. Timed per image from the
normalised input tensor to the outputs as numpy arrays (boxes, labels, keypoints); preprocessing is
outside both. The agreement of the two on the first image (:func:`compare_outputs`) comes with the
figures.
"""
import os
import tempfile
import time
from collections import OrderedDict

import numpy as np
import torch
from benchmark_model import (FORCED_DETECTIONS, build_mmdet_model, check_iters, load_config,
                             normalised_images, synthetic_batches, to_mmdet_inputs)
from benchmark_utils import format_table, percentile

from mmhrkpt.deployment.meta import model_meta
from mmhrkpt.deployment.onnx_detector import create_session
from mmhrkpt.deployment.onnx_export import (DEFAULT_OPSET, compare_outputs, export_onnx, onnx_outputs,
                                            pytorch_outputs)


def _build(config, checkpoint, cfg_options, batches):
    """The model and its config: a checkpoint's weights, or random init with forced detections."""
    cfg = load_config(config, cfg_options)
    if checkpoint is None:
        model = build_mmdet_model(
            config, 'cpu', train=False, cfg_options=cfg_options, bn_images=normalised_images(batches))
        note = (f'random init, detections forced: test_cfg.rcnn.score_thr=0, max_per_img='
                f'{FORCED_DETECTIONS}; BN statistics from the synthetic images')
    else:
        from mmhrkpt.apis import init_model
        model = init_model(cfg, checkpoint, device='cpu')
        note = f'weights of {checkpoint}, the config\'s test_cfg'
    return model, cfg, note


def _stats(times_ms, detections):
    return OrderedDict(
        latency_ms_median=float(np.median(times_ms)),
        latency_ms_p90=percentile(times_ms, 90),
        latency_ms_mean=float(np.mean(times_ms)),
        latency_ms_all=list(times_ms),
        detections_per_image=float(np.mean(detections)))


def bench_onnx(config,
               img_size=512,
               iters=10,
               warmup=2,
               checkpoint=None,
               cfg_options=None,
               seed=0,
               opset=DEFAULT_OPSET,
               threads=None):
    """Per-image latency of PyTorch and onnxruntime (CPU), median of ``iters`` images after ``warmup``.

    Returns:
        dict: ``pytorch`` and ``onnxruntime`` latencies (ms median, p90, mean, all) and detections per
        image, ``ratio_onnxruntime_over_pytorch`` (medians), ``agreement`` (first image),
        ``export_s`` and ``onnx_mb``, and ``notes``.
    """
    check_iters(iters, warmup)
    torch.manual_seed(seed)
    batches = synthetic_batches(max(1, min(8, warmup + iters)), 1, img_size, seed=seed)
    images = [to_mmdet_inputs(b, 'cpu')['img'] for b in batches]
    model, cfg, weights_note = _build(config, checkpoint, cfg_options, batches)
    meta = model_meta(cfg, model)
    threads = threads or torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'model.onnx')
        start = time.perf_counter()
        export_onnx(
            model,
            path,
            images[0],
            dict(meta, input_shape=[img_size, img_size], dynamic=False),
            opset=opset,
            flip_pairs=meta['flip_pairs'])
        export_s = time.perf_counter() - start
        onnx_mb = os.path.getsize(path) / 2**20
        session = create_session(path, num_threads=threads)
        agreement = compare_outputs(
            pytorch_outputs(model, images[0], flip_pairs=meta['flip_pairs']),
            onnx_outputs(session, images[0].numpy()), img_size)
        runs = dict(pytorch=([], []), onnxruntime=([], []))
        for i in range(warmup + iters):
            image = images[i % len(images)]
            for name, run in (('pytorch', lambda: pytorch_outputs(model, image, None, meta['flip_pairs'])),
                              ('onnxruntime', lambda: onnx_outputs(session, image.numpy()))):
                start = time.perf_counter()
                out = run()
                elapsed = (time.perf_counter() - start) * 1e3
                if i >= warmup:
                    runs[name][0].append(elapsed)
                    runs[name][1].append(len(out['dets']))
    result = OrderedDict(
        config=config,
        img_size=img_size,
        iters=iters,
        warmup=warmup,
        opset=opset,
        threads=threads,
        export_s=export_s,
        onnx_mb=onnx_mb)
    for name, (times, detections) in runs.items():
        result[name] = _stats(times, detections)
    result['ratio_onnxruntime_over_pytorch'] = (
        result['onnxruntime']['latency_ms_median'] / result['pytorch']['latency_ms_median'])
    result['agreement'] = agreement
    result['notes'] = [
        weights_note, f'batch of 1 image, S={img_size}; torch threads {torch.get_num_threads()}, '
        f'onnxruntime intra-op threads {threads}; flip test {"on" if meta["flip_test"] else "off"} '
        '(test_cfg)', 'timed from the normalised input tensor to numpy outputs, PyTorch and '
        'onnxruntime alternating image by image'
    ]
    return result


def format_onnx(result):
    rows = [(name, result[name]['latency_ms_median'], result[name]['latency_ms_p90'],
             result[name]['detections_per_image']) for name in ('pytorch', 'onnxruntime')]
    agreement = result['agreement']
    fmt = {
        key: 'n/a' if agreement[key] is None else f'{agreement[key]:.3g}'
        for key in ('box', 'keypoint', 'score')
    }
    text = (f"onnx {result['config']}  S={result['img_size']} iters={result['iters']} (after "
            f"{result['warmup']} warm-up), opset {result['opset']}, exported in {result['export_s']:.1f} s "
            f"({result['onnx_mb']:.1f} MB)\n")
    text += format_table(('runtime', 'ms median', 'ms p90', 'detections/img'), rows)
    text += (f"\nratio onnxruntime / PyTorch (median latency): {result['ratio_onnxruntime_over_pytorch']:.2f}"
             f"\nagreement on the first image: {agreement['num_outputs']} vs {agreement['num_reference']} "
             f"detections, max |box diff| {fmt['box']} px, max |keypoint diff| {fmt['keypoint']} px, "
             f"max |score diff| {fmt['score']}: {'PASS' if agreement['ok'] else 'FAIL'}")
    return text + ''.join(f'\nnote: {n}' for n in result['notes'])
