"""Performance benchmarks: what ``tools/benchmark.py`` runs (docs/benchmarks.md says how to read them).

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size, B images per batch, S the image side.

* :func:`bench_codec`: mmhrkpt's batched torch codecs against mmpose 0.29's reference functions on the
  same inputs, in the same process (``TopDownGenerateTarget`` looped over instances for encoding,
  ``keypoints_from_heatmaps`` for decoding), with the largest disagreement between the two.
* :func:`bench_train`: steady-state training throughput of a config's model on synthetic images,
  boxes and keypoints, and its peak memory; optionally torchvision's Keypoint R-CNN on the same batches.
* :func:`bench_infer`: per-image latency in eval mode, with a forced number of detections.
* :func:`bench_profile`: one training iteration broken down into its parts (exclusive times that add
  up to the iteration), plus data loading from a real ``CocoKeypointDataset`` when one is given.

Every figure is printed and returned as a dict (``tools/benchmark.py --json`` writes it with
:func:`machine_info`); none is asserted anywhere: tests check keys and agreement, never time.
"""
import ctypes
import gc
import logging
import math
import os
import platform
import time
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from functools import partial

import numpy as np
import torch

from mmhrkpt.codecs import DarkHeatmap, MSRAHeatmap, UDPHeatmap
from mmhrkpt.codecs.utils import expand_rois
from mmhrkpt.utils import import_mmpose
from mmhrkpt.testing.mmpose_reference import gaussian_peaks, mmpose_decoder, mmpose_encoder

CODEC_METHODS = ('msra', 'dark', 'udp')
# The codec benchmark's geometry: COCO's 17 keypoints on 64 x 48 (H, W) heatmaps, sigma 2, and the
# 11 x 11 blur of DARK / UDP decoding that matches it.
NUM_KEYPOINTS = 17
HEATMAP_SIZE = (64, 48)
SIGMA = 2.0
BLUR_KERNEL = 11
# The codec each name of CODEC_METHODS benchmarks, in that geometry.
BENCH_CODECS = dict(msra=MSRAHeatmap(HEATMAP_SIZE, SIGMA), dark=DarkHeatmap(HEATMAP_SIZE, SIGMA, BLUR_KERNEL),
                    udp=UDPHeatmap(HEATMAP_SIZE, SIGMA, BLUR_KERNEL))
# Decode inputs: Gaussian peaks at least this many cells inside the map (where every method refines),
# plus uniform noise of this amplitude.
PEAK_MARGIN = 3.0
PEAK_NOISE = 1e-3
# A keypoint "disagrees" with mmpose beyond these (decode: image px; encode: a target value): the
# tolerances of the codec equivalence tests.
DISAGREEMENT_TOLERANCE = dict(decode=0.01, encode=1e-4)
# mmpose's post_dark_udp computes flat indices in float32, exact below 2^24: N * K * (H + 2) * (W + 2)
# must stay under it, i.e. N <= 299 RoIs of 17 keypoints on 64 x 48 maps.
MMPOSE_UDP_MAX_ROIS = 2**24 // (NUM_KEYPOINTS * (HEATMAP_SIZE[0] + 2) * (HEATMAP_SIZE[1] + 2))

# Synthetic detection data: persons per image, box height as a fraction of the image side, box width
# / height, and the probabilities of keypoint visibility v = 2, 1, 0.
PERSONS_PER_IMAGE = (2, 5)
PERSON_HEIGHT = (0.3, 0.9)
PERSON_ASPECT = (0.35, 0.7)
VISIBILITY_PROBS = (0.8, 0.1, 0.1)
# Images are random in [0, 1]; mmdet models get them normalised as the configs' pipelines do.
IMG_NORM_MEAN = (123.675, 116.28, 103.53)
IMG_NORM_STD = (58.395, 57.12, 57.375)
# Inference: a random-init box head scores every proposal ~0.5, so with no score threshold this many
# detections per image reach the keypoint branch (after NMS).
FORCED_DETECTIONS = 100
# Both models train with this optimizer: the cost of a step does not depend on the learning rate, and a
# small one keeps randomly initialised models finite over the measured iterations.
OPTIMIZER = dict(lr=1e-5, momentum=0.9, weight_decay=1e-4)
# --jitter-proposals: ground-truth copies whose centre moves up to this fraction of the box size and
# whose sides scale by up to exp(+-JITTER_LOG_SCALE) (IoU with their person mostly >= 0.5).
JITTER_SHIFT = 0.1
JITTER_LOG_SCALE = 0.15
# Loss scale of fp16 training (mmdet's configs use fp16 = dict(loss_scale=512.)).
FP16_LOSS_SCALE = 512.0

# What remains different between torchvision's Keypoint R-CNN and ours when they are compared.
TORCHVISION_DIFFERENCES = (
    'backbone freezing: torchvision "finetune" layout = FrozenBatchNorm2d everywhere and '
    'trainable_backbone_layers=3 (stem + layer1 frozen), what keypointrcnn_resnet50_fpn builds when '
    'given pretrained weights; "scratch" = keypointrcnn_resnet50_fpn(weights=None, '
    'weights_backbone=None) = nn.BatchNorm2d in train mode and all 5 layers trainable. Ours (R50 '
    'config): frozen_stages=1 (stem + layer1 frozen), BN in eval mode (norm_eval=True) with trainable '
    'affine parameters. The HRNet configs have neither torchvision counterpart.',
    'keypoint head: torchvision 14x14 RoIAlign -> 8 convs x 512 -> deconv + bilinear x2 -> 56x56 '
    'one-hot maps, spatial cross-entropy; ours 32x24 RoIAlign on 3:4-expanded RoIs -> 4 convs x 256 -> '
    'deconv to 17 maps at 64x48 (Gaussian heatmaps), MSE (codec target encoding included).',
    'keypoint RoIs in training: torchvision all positive proposals (<= 128 per image); ours at most '
    'train_cfg.rcnn.keypoint.max_rois_per_img (64) positives with a labelled keypoint per image.',
    'RPN proposals in training: torchvision 2000 pre-NMS per level, 2000 post-NMS per image; mmdet '
    'R50 config 2000 pre-NMS per level, 1000 post-NMS per image (test: 1000 / 1000 for both).',
    'box sampler: both 512 RoIs per image, 25% positive, gt boxes added as proposals.',
    'input: torchvision normalises and (no-op) resizes inside the model (its "input transform"); '
    'mmdet gets normalised images (its data pipeline does that, outside the step).',
    'optimizer: both plain SGD (momentum 0.9) without gradient clipping (the configs clip at 35).',
)


# ----------------------------------------------------------------------------- machine and output
def _cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device):
    """The CPU model for 'cpu', the GPU's name for a CUDA device."""
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return _cpu_model()


def machine_info(device='cpu'):
    """Where and when a figure was measured: CPU, cores, threads, load, versions, device name.

    ``load_average`` (1, 5, 15 min) and ``niceness`` say whether the machine was busy with other work.
    """
    import mmcv
    import mmdet
    import torchvision
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return OrderedDict(
        date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
        cpu_model=_cpu_model(),
        cpu_cores=os.cpu_count(),
        cpu_cores_usable=affinity,
        torch_threads=torch.get_num_threads(),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
        niceness=os.nice(0),
        load_average=[round(x, 2) for x in os.getloadavg()],
        device=str(device),
        device_name=device_name(device),
        cuda_available=torch.cuda.is_available(),
        python=platform.python_version(),
        torch=torch.__version__,
        torchvision=torchvision.__version__,
        mmcv=mmcv.__version__,
        mmdet=mmdet.__version__,
        mmpose=import_mmpose().__version__,
        numpy=np.__version__,
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path, command, args, results, machine):
    """Write ``{command, args, machine, results}`` to ``path`` (the machine's load taken again now)."""
    import json
    machine = dict(machine, load_average_end=[round(x, 2) for x in os.getloadavg()])
    payload = dict(command=command, args=args, machine=machine, results=results)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(_jsonable(payload), f, indent=2)


def format_table(headers, rows):
    """Plain-text table, columns as wide as their widest cell."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ['  '.join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def _fmt(value):
    if value is None:
        return 'n/a'
    if isinstance(value, float):
        if value == 0:
            return '0'
        if abs(value) >= 100:
            return f'{value:.0f}'
        if abs(value) >= 1:
            return f'{value:.2f}'
        return f'{value:.2g}'
    return str(value)


# ----------------------------------------------------------------------------- timing and memory
def synchronize(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def time_calls(fn, repeat, device='cpu', warmup=1):
    """Milliseconds of ``repeat`` calls of ``fn()`` after ``warmup`` untimed ones (CUDA synchronised)."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _percentile(values, q):
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else None


def _read_status_kb(key):
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _release_memory():
    """Collect garbage and hand freed heap back to the OS (glibc), so the next RSS peak is its own."""
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak memory of a measured phase.

    CUDA: ``torch.cuda.max_memory_allocated`` after a reset. CPU: the peak resident set size
    (``VmHWM`` of /proc/self/status), reset at the start by writing 5 to /proc/self/clear_refs (Linux
    >= 4.0); where the reset is refused, the peak is the process's since its start (``reset`` False).
    """

    def __init__(self, device):
        self.device = torch.device(device)
        self.reset = False
        self.start_mb = None

    def __enter__(self):
        _release_memory()
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start_mb = torch.cuda.memory_allocated(self.device) / 2**20
            self.reset = True
        else:
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')
                self.reset = True
            except OSError:
                self.reset = False
            rss = _read_status_kb('VmRSS')
            self.start_mb = rss / 1024 if rss is not None else None
        return self

    def __exit__(self, *exc):
        return False

    def result(self):
        """dict: kind ('cuda_max_allocated' | 'cpu_peak_rss'), peak_mb, start_mb, increase_mb."""
        if self.device.type == 'cuda':
            kind, peak = 'cuda_max_allocated', torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            hwm = _read_status_kb('VmHWM')
            if hwm is None:  # no /proc: the process's peak from getrusage (kB on Linux)
                import resource
                hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            kind, peak = 'cpu_peak_rss', hwm / 1024
        increase = peak - self.start_mb if self.start_mb is not None else None
        return OrderedDict(kind=kind, peak_mb=peak, start_mb=self.start_mb, increase_mb=increase,
                           peak_reset=self.reset)


# ----------------------------------------------------------------------------- codecs vs mmpose
def codec_inputs(num_rois, seed=0):
    """Inputs of the codec benchmark (float32, CPU).

    RoIs are person-like boxes (16..400 px high, W:H 0.3..0.8) in a 640 x 480 image, expanded to the
    heatmap's 3:4 with padding 1.25 as the keypoint branch does. Keypoints lie in and up to 10% beyond
    their RoI, v in {0, 1, 2}. Heatmaps are what a trained head predicts: one Gaussian peak (sigma 2,
    amplitude 0.3..1) per map at a sub-cell position at least ``PEAK_MARGIN`` cells inside the map, plus
    uniform noise of ``PEAK_NOISE``.

    Returns:
        dict: rois Tensor[N, 4], keypoints Tensor[N, K, 3], heatmaps Tensor[N, K, H, W].
    """
    gen = torch.Generator().manual_seed(seed)
    height_px = 16 + torch.rand(num_rois, generator=gen) * 384
    width_px = height_px * (0.3 + 0.5 * torch.rand(num_rois, generator=gen))
    x1 = torch.rand(num_rois, generator=gen) * 640
    y1 = torch.rand(num_rois, generator=gen) * 480
    boxes = torch.stack([x1, y1, x1 + width_px, y1 + height_px], dim=1)
    rois = expand_rois(boxes, aspect_ratio=HEATMAP_SIZE[1] / HEATMAP_SIZE[0], padding=1.25)

    frac = torch.rand(num_rois, NUM_KEYPOINTS, 2, generator=gen) * 1.2 - 0.1
    xy = rois[:, None, :2] + frac * (rois[:, None, 2:] - rois[:, None, :2])
    vis = torch.multinomial(torch.tensor([VISIBILITY_PROBS[2], VISIBILITY_PROBS[1],
                                          VISIBILITY_PROBS[0]]), num_rois * NUM_KEYPOINTS,
                            replacement=True, generator=gen).float()
    keypoints = torch.cat([xy, vis.reshape(num_rois, NUM_KEYPOINTS, 1)], dim=2)

    heatmaps, _ = gaussian_peaks(gen, num_rois, NUM_KEYPOINTS, HEATMAP_SIZE, sigma=SIGMA,
                                 margin=PEAK_MARGIN, noise=PEAK_NOISE)
    return dict(rois=rois, keypoints=keypoints, heatmaps=heatmaps)


def bench_codec(num_rois=(100, 1000), methods=CODEC_METHODS, device='cpu', repeat=5, seed=0):
    """Encode and decode of N RoIs x 17 keypoints x 64x48 maps: mmhrkpt (on ``device``) vs mmpose (numpy,
    CPU), on the same inputs.

    Times are medians of ``repeat`` calls after one untimed call; ours on CUDA includes
    ``torch.cuda.synchronize``. ``max_disagreement``: decode, the largest distance |ours - mmpose| of a
    keypoint coordinate in image pixels; encode, the largest |ours - mmpose| of a target value.
    ``num_disagreeing``: keypoints beyond ``DISAGREEMENT_TOLERANCE`` (of ``num_keypoints``);
    ``weight_mismatches``: keypoints whose 0/1 weight differs. ``alloc_floor_ms`` (encode): the time to
    allocate and fill a fresh Tensor[N, K, H, W] on the device, the floor of any encoder that returns new
    targets (at large N, mostly the kernel's page faults on a freshly mapped buffer).

    mmpose's UDP decoding (``post_dark_udp``) indexes the flattened maps with float32 numbers, exact only
    up to 2^24: with more than ``MMPOSE_UDP_MAX_ROIS`` RoIs (17 keypoints, 64 x 48) it reads wrong cells.
    Its time is taken on the single call as users make it, its answer for the disagreement from calls on
    chunks of at most that many RoIs; ``mmpose_single_call_max_disagreement`` keeps the single call's.

    Returns:
        list[dict]: one row per (operation, method, N).
    """
    if repeat < 1:
        raise ValueError(f'need repeat >= 1, got {repeat}')
    rows = []
    height, width = HEATMAP_SIZE
    for num in num_rois:
        inputs = codec_inputs(num, seed)
        on_device = {k: v.to(device) for k, v in inputs.items()}
        for method in methods:
            codec = BENCH_CODECS[method]
            ours = partial(codec.encode, on_device['keypoints'], on_device['rois'])
            reference = mmpose_encoder(inputs['keypoints'], inputs['rois'], HEATMAP_SIZE, SIGMA,
                                       method)
            ours_ms = time_calls(ours, repeat, device)
            ref_ms = time_calls(reference, repeat)
            alloc_ms = time_calls(lambda: torch.empty((num, NUM_KEYPOINTS, height, width),
                                                      device=device).fill_(1.0), repeat, device)
            targets, weights = (t.cpu().numpy() for t in ours())
            ref_targets, ref_weights = reference()
            diff = np.abs(targets - ref_targets).reshape(num * NUM_KEYPOINTS, -1).max(axis=1)
            rows.append(_codec_row(
                'encode', method, num, ours_ms, ref_ms, diff, 'target value',
                weight_mismatches=int((weights != ref_weights).sum()),
                alloc_floor_ms=float(np.median(alloc_ms))))

            ours = partial(codec.decode, on_device['heatmaps'], on_device['rois'])
            reference = mmpose_decoder(inputs['heatmaps'], inputs['rois'], method, BLUR_KERNEL)
            ours_ms = time_calls(ours, repeat, device)
            ref_ms = time_calls(reference, repeat)
            keypoints, scores = (t.cpu().numpy() for t in ours())
            ref_keypoints, ref_scores = reference()
            extra = {}
            if method == 'udp' and num > MMPOSE_UDP_MAX_ROIS:
                extra['mmpose_single_call_max_disagreement'] = float(
                    np.abs(keypoints - ref_keypoints).max())
                chunks = [mmpose_decoder(inputs['heatmaps'][i:i + MMPOSE_UDP_MAX_ROIS],
                                         inputs['rois'][i:i + MMPOSE_UDP_MAX_ROIS], method,
                                         BLUR_KERNEL)()
                          for i in range(0, num, MMPOSE_UDP_MAX_ROIS)]
                ref_keypoints = np.concatenate([c[0] for c in chunks])
                ref_scores = np.concatenate([c[1] for c in chunks])
            diff = np.abs(keypoints - ref_keypoints).reshape(num * NUM_KEYPOINTS, 2).max(axis=1)
            rows.append(_codec_row(
                'decode', method, num, ours_ms, ref_ms, diff, 'image px',
                max_score_diff=float(np.abs(scores - ref_scores).max()), **extra))
    return rows


def _codec_row(operation, method, num, ours_ms, ref_ms, diff, unit, **extra):
    """A result row; ``diff`` (np.ndarray[N * K]) is the disagreement of each keypoint."""
    ours, ref = float(np.median(ours_ms)), float(np.median(ref_ms))
    tolerance = DISAGREEMENT_TOLERANCE[operation]
    return OrderedDict(operation=operation, method=method, num_rois=num, ours_ms=ours,
                       mmpose_ms=ref, speedup=ref / ours if ours > 0 else None,
                       max_disagreement=float(diff.max()), disagreement_unit=unit,
                       disagreement_tolerance=tolerance,
                       num_disagreeing=int((diff > tolerance).sum()), num_keypoints=int(diff.size),
                       ours_ms_all=ours_ms, mmpose_ms_all=ref_ms, **extra)


def format_codec(rows):
    headers = ('op', 'method', 'N', 'ours ms', 'mmpose ms', 'speed-up', 'max disagreement',
               'beyond tol.')
    table = [(r['operation'], r['method'], r['num_rois'], r['ours_ms'], r['mmpose_ms'],
              f"{r['speedup']:.1f}x" if r['speedup'] else None,
              f"{r['max_disagreement']:.2g} {r['disagreement_unit']}",
              f"{r['num_disagreeing']}/{r['num_keypoints']}") for r in rows]
    text = format_table(headers, table)
    notes = ['beyond tol.: keypoints disagreeing by more than 0.01 image px (decode) / 1e-4 of a '
             'target value (encode)']
    for r in rows:
        if 'mmpose_single_call_max_disagreement' in r:
            notes.append(
                f"udp decode N={r['num_rois']}: mmpose's single call reads wrong cells beyond "
                f"{MMPOSE_UDP_MAX_ROIS} RoIs (float32 indices in post_dark_udp), max "
                f"{r['mmpose_single_call_max_disagreement']:.3g} px from ours; compared with mmpose "
                f"on chunks of {MMPOSE_UDP_MAX_ROIS} RoIs instead (timed as one call)")
        if r['operation'] == 'encode' and r['alloc_floor_ms'] > 0.5 * r['ours_ms']:
            notes.append(f"encode {r['method']} N={r['num_rois']}: allocating and filling a fresh "
                         f"[N, K, H, W] output alone takes {r['alloc_floor_ms']:.3g} ms of ours' "
                         f"{r['ours_ms']:.3g} ms")
    return text + '\n' + '\n'.join(f'note: {n}' for n in notes)


# ----------------------------------------------------------------------------- RoIAlign layers
ROI_ALIGN_LAYERS = ('RoIAlign', 'TVRoIAlign', 'SparseRoIAlign')


def _roi_align_layer(name, output_size, spatial_scale, sampling_ratio):
    if name == 'RoIAlign':
        from mmcv.ops import RoIAlign
        return RoIAlign(output_size, spatial_scale, sampling_ratio, aligned=True)
    from mmhrkpt.models.roi_heads.roi_extractors.fast_roi_extractor import ROI_LAYERS
    return ROI_LAYERS[name](output_size, spatial_scale, sampling_ratio, aligned=True)


def roi_align_inputs(num_rois, num_imgs=4, channels=64, feat_size=64, stride=4, seed=0,
                     channels_last=False, device='cpu'):
    """Features Tensor[B, C, S, S] and RoIs Tensor[N, 5] of 8 to 160 image px (a person at stride 4
    of a 256-px image, the synthetic demo's keypoint RoIs)."""
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(num_imgs, channels, feat_size, feat_size, generator=gen)
    if channels_last:
        feats = feats.contiguous(memory_format=torch.channels_last)
    img_size = feat_size * stride
    wh = 8 + torch.rand(num_rois, 2, generator=gen) * 152
    xy = torch.rand(num_rois, 2, generator=gen) * (img_size - wh)
    idx = torch.randint(0, num_imgs, (num_rois, 1), generator=gen).float()
    return feats.to(device), torch.cat([idx, xy, xy + wh], 1).to(device)


def bench_roi_align(num_rois=(128, 512), output_sizes=((16, 12), (7, 7)), sampling_ratios=(2, 0),
                    layers=ROI_ALIGN_LAYERS, channels=64, feat_size=64, device='cpu', repeat=5,
                    seed=0, channels_last=False):
    """Forward and forward+backward milliseconds of each RoIAlign layer on the same inputs, and
    each layer's largest difference from mmcv's ``RoIAlign`` (output and feature gradient).

    One row per (layer, N, output size, sampling ratio); medians of ``repeat`` calls.
    """
    rows = []
    for num in num_rois:
        for output_size in output_sizes:
            for ratio in sampling_ratios:
                feats, rois = roi_align_inputs(num, channels=channels, feat_size=feat_size,
                                               seed=seed, channels_last=channels_last,
                                               device=device)
                grad_out = None
                results = {}
                for name in layers:
                    layer = _roi_align_layer(name, output_size, 0.25, ratio)
                    # mmcv 1.7's RoIAlign indexes the map as contiguous NCHW (wrong results on a
                    # channels_last map): it gets a contiguous copy
                    src = feats.contiguous() if name == 'RoIAlign' else feats
                    leaf = src.detach().clone().requires_grad_()
                    out = layer(leaf, rois)
                    if grad_out is None:
                        grad_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(
                            seed + 1)).to(device)
                    grad, = torch.autograd.grad(out, leaf, grad_out)
                    results[name] = (out.detach(), grad)

                    def forward(layer=layer, src=src):
                        with torch.no_grad():
                            layer(src, rois)

                    def forward_backward(layer=layer, leaf=leaf):
                        torch.autograd.grad(layer(leaf, rois), leaf, grad_out)

                    fwd = time_calls(forward, repeat, device)
                    both = time_calls(forward_backward, repeat, device)
                    rows.append(OrderedDict(
                        layer=name, num_rois=num, output_size=tuple(output_size),
                        sampling_ratio=ratio, forward_ms=float(np.median(fwd)),
                        forward_backward_ms=float(np.median(both)), forward_ms_all=fwd,
                        forward_backward_ms_all=both))
                ref_out, ref_grad = results.get('RoIAlign', results[layers[0]])
                for row in rows[-len(layers):]:
                    out, grad = results[row['layer']]
                    row['max_output_diff'] = float((out - ref_out).abs().max()) if out.numel() else 0.
                    row['max_grad_diff'] = float((grad - ref_grad).abs().max())
                    row['reference'] = 'RoIAlign' if 'RoIAlign' in results else layers[0]
    return rows


def format_roi_align(rows):
    headers = ('layer', 'N', 'out', 'ratio', 'forward ms', 'fwd+bwd ms', 'max diff out / grad')
    table = [(r['layer'], r['num_rois'], 'x'.join(map(str, r['output_size'])), r['sampling_ratio'],
              r['forward_ms'], r['forward_backward_ms'],
              f"{r['max_output_diff']:.2g} / {r['max_grad_diff']:.2g}") for r in rows]
    return (format_table(headers, table) + '\nnote: differences are from ' +
            (rows[0]['reference'] if rows else 'RoIAlign') + ' (mmcv) on the same inputs')


# ----------------------------------------------------------------------------- synthetic batches
def synthetic_batches(num_batches, batch_size, img_size, num_keypoints=NUM_KEYPOINTS, seed=0):
    """Random images with a few persons each: what both models train and infer on.

    Returns:
        list[dict]: per batch ``images`` Tensor[B, 3, S, S] in [0, 1], ``boxes`` list of Tensor[n, 4]
        (x1, y1, x2, y2) and ``keypoints`` list of Tensor[n, K, 3] (x, y, v) inside their boxes.
    """
    gen = torch.Generator().manual_seed(seed)
    size = float(img_size)
    vis_probs = torch.tensor([VISIBILITY_PROBS[2], VISIBILITY_PROBS[1], VISIBILITY_PROBS[0]])
    batches = []
    for _ in range(num_batches):
        images = torch.rand(batch_size, 3, img_size, img_size, generator=gen)
        boxes, keypoints = [], []
        for _ in range(batch_size):
            n = int(torch.randint(PERSONS_PER_IMAGE[0], PERSONS_PER_IMAGE[1] + 1, (1, ),
                                  generator=gen))
            h = size * _uniform(gen, n, *PERSON_HEIGHT)
            w = h * _uniform(gen, n, *PERSON_ASPECT)
            x1 = (size - w) * torch.rand(n, generator=gen)
            y1 = (size - h) * torch.rand(n, generator=gen)
            box = torch.stack([x1, y1, x1 + w, y1 + h], dim=1)
            frac = torch.rand(n, num_keypoints, 2, generator=gen)
            xy = box[:, None, :2] + frac * (box[:, None, 2:] - box[:, None, :2])
            v = torch.multinomial(vis_probs, n * num_keypoints, replacement=True,
                                  generator=gen).float().reshape(n, num_keypoints, 1)
            xy = xy * (v > 0)  # unlabelled keypoints are (0, 0, 0), as in the datasets
            boxes.append(box)
            keypoints.append(torch.cat([xy, v], dim=2))
        batches.append(dict(images=images, boxes=boxes, keypoints=keypoints))
    return batches


def _uniform(gen, n, low, high):
    return low + (high - low) * torch.rand(n, generator=gen)


def to_mmdet_inputs(batch, device):
    """Keyword arguments of ``model(return_loss=True, **inputs)`` for an mmdet detector."""
    images = batch['images']
    mean = images.new_tensor(IMG_NORM_MEAN)[:, None, None]
    std = images.new_tensor(IMG_NORM_STD)[:, None, None]
    img = ((images * 255 - mean) / std).to(device)
    height, width = images.shape[-2:]
    meta = dict(img_shape=(height, width, 3), ori_shape=(height, width, 3),
                pad_shape=(height, width, 3), batch_input_shape=(height, width),
                scale_factor=np.ones(4, dtype=np.float32), flip=False, flip_direction=None)
    return dict(
        img=img,
        img_metas=[dict(meta) for _ in range(len(images))],
        gt_bboxes=[b.to(device) for b in batch['boxes']],
        gt_labels=[torch.zeros(len(b), dtype=torch.long, device=device) for b in batch['boxes']],
        gt_keypoints=[k.to(device) for k in batch['keypoints']])


def to_torchvision_inputs(batch, device):
    """``(images, targets)`` for torchvision's detection models (label 1 = person, 0 = background)."""
    images = [im.to(device) for im in batch['images']]
    targets = [dict(boxes=b.to(device), labels=torch.ones(len(b), dtype=torch.long, device=device),
                    keypoints=k.to(device)) for b, k in zip(batch['boxes'], batch['keypoints'])]
    return images, targets


# ----------------------------------------------------------------------------- models
def _strip_pretrained(cfg):
    """Drop every pre-trained checkpoint from a model config (in place): no downloads, random init."""
    if isinstance(cfg, dict):
        for key in list(cfg.keys()):
            value = cfg[key]
            if key == 'pretrained':
                cfg[key] = None
            elif key == 'init_cfg' and _is_pretrained(value):
                cfg[key] = None
            else:
                _strip_pretrained(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            _strip_pretrained(value)


def _is_pretrained(init_cfg):
    if isinstance(init_cfg, dict):
        return init_cfg.get('type') == 'Pretrained'
    if isinstance(init_cfg, (list, tuple)):
        return any(_is_pretrained(c) for c in init_cfg)
    return False


def load_config(config, cfg_options=None):
    """An mmcv Config from a path, with ``cfg_options`` merged and pre-trained weights dropped."""
    from mmcv import Config
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    _strip_pretrained(cfg.model)
    return cfg


def build_mmdet_model(config, device='cpu', train=True, cfg_options=None, bn_images=()):
    """A randomly initialised detector from a config: backbone ``init_cfg=None`` (no download), other
    modules initialised as their ``init_cfg`` says, in train mode (BN as the config trains it) or eval
    mode. In eval mode ``test_cfg.rcnn.score_thr=0`` and ``max_per_img=FORCED_DETECTIONS``, so the
    keypoint branch sees that many detections per image although the box head is untrained.

    ``bn_images`` (Tensor[B, 3, S, S] normalised batches): BN running statistics are estimated from
    them first (:func:`calibrate_bn`), as a pre-trained backbone brings statistics that fit its input.
    """
    from mmcv.utils import get_logger
    from mmdet.models import build_detector
    import mmhrkpt  # noqa: F401  (registers the modules configs name)
    cfg = load_config(config, cfg_options)
    if not train:
        rcnn = cfg.model.test_cfg.rcnn
        rcnn.score_thr = 0.0
        rcnn.max_per_img = FORCED_DETECTIONS
    get_logger('mmcv').setLevel(logging.WARNING)  # init_weights' per-module lines
    model = build_detector(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    model.init_weights()
    model.to(device)
    calibrate_bn(model, [img.to(device) for img in bn_images])
    model.train(train)
    return model


def calibrate_bn(model, images):
    """Running statistics of every BN layer of ``model.extract_feat`` from ``images`` (a cumulative
    average over the batches, BN layers in train mode meanwhile); other state is left as it was.

    Random init leaves them at mean 0 / variance 1, and layers that the config keeps in eval mode
    (``norm_eval=True``, the default of mmdet's ResNet and HRNet) then normalise nothing: a random-init
    HRNet-W32's features reach ~1e9 and its first losses overflow. Timing does not depend on the values,
    but non-finite values change what the RPN and the heads do (no proposals, no detections).
    """
    from torch.nn.modules.batchnorm import _BatchNorm
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not norms or not len(images):
        return
    saved = [(m, m.training, m.momentum) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
        m.train()
    with torch.no_grad():
        for img in images:
            model.extract_feat(img)
    for m, training, momentum in saved:
        m.momentum = momentum
        m.train(training)


def _bn_images(batches):
    """The normalised images of ``batches`` for :func:`calibrate_bn`: list of Tensor[B, 3, S, S]."""
    return [to_mmdet_inputs(b, 'cpu')['img'] for b in batches]


TORCHVISION_VARIANTS = ('finetune', 'scratch')


def build_torchvision_model(img_size, device='cpu', train=True, variant='finetune',
                            num_keypoints=NUM_KEYPOINTS):
    """torchvision's Keypoint R-CNN R50-FPN, random init, 2 classes, no resizing (min = max = S).

    ``variant``: 'scratch' is ``keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None,
    num_classes=2)``, which torchvision builds with nn.BatchNorm2d and all 5 backbone layers trainable;
    'finetune' is the model the same function builds when given pre-trained backbone weights
    (FrozenBatchNorm2d, ``trainable_backbone_layers=3``), made with the same builders and no download:
    the layout closest to the mmdet R50 config (frozen stem + layer1, BN statistics frozen). In eval mode
    ``box_score_thresh=0`` and ``box_detections_per_img=FORCED_DETECTIONS``, as ours.
    """
    from torchvision.models import resnet50
    from torchvision.models.detection import KeypointRCNN, keypointrcnn_resnet50_fpn
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops.misc import FrozenBatchNorm2d
    if variant not in TORCHVISION_VARIANTS:
        raise ValueError(f'variant must be one of {TORCHVISION_VARIANTS}, got {variant!r}')
    kwargs = dict(min_size=img_size, max_size=img_size)
    if not train:
        kwargs.update(box_score_thresh=0.0, box_detections_per_img=FORCED_DETECTIONS)
    if variant == 'scratch':
        model = keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=2,
                                          num_keypoints=num_keypoints, **kwargs)
    else:
        backbone = _resnet_fpn_extractor(resnet50(weights=None, norm_layer=FrozenBatchNorm2d), 3)
        model = KeypointRCNN(backbone, num_classes=2, num_keypoints=num_keypoints, **kwargs)
    model.to(device)
    model.train(train)
    return model


def _optimizer(model):
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, **OPTIMIZER)


def _num_params(model):
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


# ----------------------------------------------------------------------------- training
class ProposalJitter:
    """Adds ``per_gt`` jittered copies of every ground-truth box to the RPN's proposals.

    A random-init RPN proposes boxes unrelated to the persons, so almost the only positive RoIs of the
    box and keypoint branches are the ground-truth boxes themselves (added as proposals by the
    samplers): a few per image, where a trained RPN gives dozens (up to the samplers' 128 positives per
    image; ours then keeps ``max_rois_per_img`` for the keypoint branch). The copies stand in for the
    trained RPN's boxes around each person: centre moved up to ``JITTER_SHIFT`` of the box size, sides
    scaled by up to exp(+-``JITTER_LOG_SCALE``), so most overlap their person with IoU >= 0.5.
    Wraps ``rpn_head.get_bboxes`` (mmdet) / ``rpn.filter_proposals`` (torchvision) of the model.
    """

    def __init__(self, model, kind, per_gt, seed=0):
        self.per_gt = per_gt
        self.gt_boxes = None
        self.generator = torch.Generator().manual_seed(seed)
        if kind == 'mmdet':
            owner, attr = model.rpn_head, 'get_bboxes'
        else:
            owner, attr = model.rpn, 'filter_proposals'
        original = getattr(owner, attr)

        def mmdet_proposals(*args, **kwargs):
            return [torch.cat([p, self._with_score(p, g)]) for p, g in
                    zip(original(*args, **kwargs), self.gt_boxes)]

        def torchvision_proposals(*args, **kwargs):
            boxes, scores = original(*args, **kwargs)
            jittered = [self._jitter(g).to(b) for b, g in zip(boxes, self.gt_boxes)]
            return ([torch.cat([b, j]) for b, j in zip(boxes, jittered)],
                    [torch.cat([s, s.new_ones(len(j))]) for s, j in zip(scores, jittered)])

        setattr(owner, attr, mmdet_proposals if kind == 'mmdet' else torchvision_proposals)

    def _jitter(self, gt):
        """Tensor[n * per_gt, 4] boxes around the Tensor[n, 4] ground truth."""
        boxes = gt.detach().cpu().float().repeat_interleave(self.per_gt, dim=0)
        size = boxes[:, 2:] - boxes[:, :2]
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        shift = (torch.rand(centre.shape, generator=self.generator) * 2 - 1) * JITTER_SHIFT
        scale = torch.exp((torch.rand(size.shape, generator=self.generator) * 2 - 1) *
                          JITTER_LOG_SCALE)
        centre, half = centre + shift * size, size * scale / 2
        return torch.cat([centre - half, centre + half], dim=1)

    def _with_score(self, proposals, gt):
        jittered = self._jitter(gt).to(proposals)
        return torch.cat([jittered, jittered.new_ones(len(jittered), 1)], dim=1)


class _TrainStep:
    """One optimisation step of either model: zero_grad, forward with losses, backward, SGD step.

    fp16 (CUDA only): mmcv's ``wrap_fp16_model`` (the mmdet modules' ``auto_fp16`` run under autocast)
    and loss scaling as mmcv's ``Fp16OptimizerHook`` does it (``GradScaler``: scale, backward, unscale,
    step, update); torchvision under ``torch.autocast`` with the same scaler.
    """

    def __init__(self, model, kind, device, fp16=False, jitter_proposals=0):
        self.model, self.kind, self.device, self.fp16 = model, kind, torch.device(device), fp16
        self.optimizer = _optimizer(model)
        self.jitter = ProposalJitter(model, kind, jitter_proposals) if jitter_proposals else None
        self.scaler = None
        if fp16:
            if kind == 'mmdet':
                from mmcv.runner import wrap_fp16_model
                wrap_fp16_model(model)
            self.scaler = torch.amp.GradScaler('cuda', init_scale=FP16_LOSS_SCALE)
        self.last_loss = None

    def forward(self, data):
        """The summed loss (a Tensor) of one batch."""
        if self.jitter:
            self.jitter.gt_boxes = (data['gt_bboxes'] if self.kind == 'mmdet' else
                                    [t['boxes'] for t in data[1]])
        if self.kind == 'mmdet':
            losses = self.model(return_loss=True, **data)
            loss, _ = self.model._parse_losses(losses)
            return loss
        images, targets = data
        amp = torch.autocast('cuda') if self.fp16 else nullcontext()
        with amp:
            losses = self.model(images, targets)
        return sum(losses.values())

    def __call__(self, data, timer=None):
        """One step; with a :class:`RegionTimer`, everything outside its named parts is 'other'."""
        timer = timer or _NullTimer()
        with timer.region('other'):
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.forward(data)
            with timer.region('backward'):
                (self.scaler.scale(loss) if self.scaler else loss).backward()
            with timer.region('optimizer step'):
                if self.scaler:
                    self.scaler.unscale_(self.optimizer)
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                else:
                    self.optimizer.step()
            self.last_loss = float(loss.detach())
        return self.last_loss


def _inputs(kind, batch, device):
    return to_mmdet_inputs(batch, device) if kind == 'mmdet' else to_torchvision_inputs(batch, device)


def _measure_train(build, kind, batches, iters, warmup, device, fp16, jitter_proposals):
    """images/s and iteration times of one model after ``warmup`` untimed iterations."""
    with PeakMemory(device) as memory:
        model = build()
        step = _TrainStep(model, kind, device, fp16=fp16, jitter_proposals=jitter_proposals)
        data = [_inputs(kind, b, device) for b in batches]
        counter = RegionTimer(device)
        _wrap_roi_counts(counter, model, kind)
        for i in range(warmup):
            step(data[i % len(data)])
        synchronize(device)
        times, counts = [], []
        for i in range(iters):
            counter.reset()
            start = time.perf_counter()
            step(data[(warmup + i) % len(data)])
            synchronize(device)
            times.append(time.perf_counter() - start)
            counts.append(dict(counter.counts))
        counter.restore()
    batch_size = len(batches[0]['images'])
    total, trainable = _num_params(model)
    result = OrderedDict(
        images_per_s=batch_size * iters / sum(times),
        iter_ms_median=1e3 * float(np.median(times)),
        iter_ms_mean=1e3 * float(np.mean(times)),
        iter_ms_all=[1e3 * t for t in times],
        memory=memory.result(),
        final_loss=step.last_loss,
        loss_finite=step.last_loss is not None and math.isfinite(step.last_loss),
        params=total,
        trainable_params=trainable,
        counts=_mean_counts(counts))
    del step, model, data
    _release_memory()
    return result


def bench_train(config, img_size=512, batch_size=2, iters=10, warmup=3, device='cpu', fp16=False,
                vs_torchvision=False, torchvision_variant='finetune', cfg_options=None, seed=0,
                jitter_proposals=0):
    """Steady-state training throughput of ``config``'s model (and torchvision's, same batches).

    ``jitter_proposals`` > 0 adds that many jittered copies of each ground-truth box to the RPN's
    proposals (:class:`ProposalJitter`), so the box and keypoint branches get as many positive RoIs as
    with a trained RPN; ``counts`` in the result say how many RoIs each branch saw per batch.

    Returns:
        dict: settings, ``ours`` (images_per_s, iter_ms_median, memory, ...), and with
        ``vs_torchvision`` ``torchvision`` likewise and ``ratio_ours_over_torchvision`` (of the median
        iteration time: > 1 means ours is slower).
    """
    _check_iters(iters, warmup)
    device = torch.device(device)
    notes = []
    if fp16 and device.type != 'cuda':
        notes.append('fp16 is not supported on CPU (mmcv fp16 = CUDA autocast + GradScaler): '
                     'skipped, measured in fp32')
        fp16 = False
    torch.manual_seed(seed)
    batches = synthetic_batches(max(1, min(4, warmup + iters)), batch_size, img_size, seed=seed)
    result = OrderedDict(config=config, img_size=img_size, batch_size=batch_size, iters=iters,
                         warmup=warmup, device=str(device), fp16=fp16,
                         persons_per_image=_persons(batches), jitter_proposals=jitter_proposals,
                         notes=notes)
    result['ours'] = _measure_train(
        lambda: build_mmdet_model(config, device, train=True, cfg_options=cfg_options,
                                  bn_images=_bn_images(batches)), 'mmdet',
        batches, iters, warmup, device, fp16, jitter_proposals)
    if vs_torchvision:
        result['torchvision_variant'] = torchvision_variant
        result['torchvision'] = _measure_train(
            lambda: build_torchvision_model(img_size, device, train=True,
                                            variant=torchvision_variant),
            'torchvision', batches, iters, warmup, device, fp16, jitter_proposals)
        result['ratio_ours_over_torchvision'] = (result['ours']['iter_ms_median'] /
                                                 result['torchvision']['iter_ms_median'])
        result['differences'] = list(TORCHVISION_DIFFERENCES)
    return result


def _check_iters(iters, warmup):
    if iters < 1 or warmup < 0:
        raise ValueError(f'need iters >= 1 and warmup >= 0, got iters={iters}, warmup={warmup}')


def _persons(batches):
    return float(np.mean([len(b) for batch in batches for b in batch['boxes']]))


def format_train(result):
    models = [('ours', result['ours'])]
    if 'torchvision' in result:
        models.append((f"torchvision ({result['torchvision_variant']})", result['torchvision']))
    rows = [(name, r['images_per_s'], r['iter_ms_median'], r['memory']['peak_mb'],
             r['memory']['increase_mb'], r['loss_finite'], r['trainable_params'] / 1e6,
             r['counts'].get('box RoIs per batch'), r['counts'].get('keypoint RoIs per batch'))
            for name, r in models]
    memory = 'peak GPU MB' if result['device'].startswith('cuda') else 'peak RSS MB'
    text = (f"train {result['config']}  S={result['img_size']} B={result['batch_size']} "
            f"iters={result['iters']} (after {result['warmup']} warm-up) fp16={result['fp16']} "
            f"device={result['device']}\n")
    text += format_table(('model', 'images/s', 'ms/iter (median)', memory, 'MB added',
                          'loss finite', 'trainable M', 'box RoIs/batch', 'kpt RoIs/batch'), rows)
    if result['jitter_proposals']:
        text += (f"\nproposals: {result['jitter_proposals']} jittered copies of each ground-truth box "
                 'added to the RPN proposals (--jitter-proposals)')
    if 'ratio_ours_over_torchvision' in result:
        text += (f"\nratio ours / torchvision (ms per iteration): "
                 f"{result['ratio_ours_over_torchvision']:.2f}")
    return text + _notes(result)


def _notes(result):
    lines = [f'note: {n}' for n in result.get('notes', [])]
    if 'differences' in result:
        lines.append('differences that remain vs torchvision:')
        lines += [f'  - {d}' for d in result['differences']]
    return ('\n' + '\n'.join(lines)) if lines else ''


# ----------------------------------------------------------------------------- inference
def _measure_infer(build, kind, images, iters, warmup, device, top_ops=0):
    with PeakMemory(device) as memory:
        model = build()
        detections, times = [], []
        with torch.no_grad():
            for i in range(warmup + iters):
                image = images[i % len(images)]
                synchronize(device)
                start = time.perf_counter()
                count = _infer_one(model, kind, image, device)
                synchronize(device)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
                    detections.append(count)
    ops = None
    if top_ops:
        with torch.no_grad():
            ops = _top_ops(partial(_infer_one, model, kind, images[0], device), device, top_ops)
    ms = [1e3 * t for t in times]
    result = OrderedDict(
        latency_ms_median=float(np.median(ms)), latency_ms_p90=_percentile(ms, 90),
        latency_ms_mean=float(np.mean(ms)), images_per_s=1e3 / float(np.mean(ms)),
        latency_ms_all=ms, detections_per_image=float(np.mean(detections)),
        memory=memory.result(), top_ops=ops)
    del model
    _release_memory()
    return result


def _infer_one(model, kind, image, device):
    """Run one image (Tensor[3, S, S] in [0, 1]); return the number of detections."""
    if kind == 'mmdet':
        data = to_mmdet_inputs(dict(images=image[None], boxes=[torch.zeros(0, 4)],
                                    keypoints=[torch.zeros(0, NUM_KEYPOINTS, 3)]), device)
        result = model(return_loss=False, rescale=True, img=[data['img']],
                       img_metas=[data['img_metas']])
        bbox_results = result[0][0]
        return sum(len(b) for b in bbox_results)
    output = model([image.to(device)])
    return len(output[0]['boxes'])


def bench_infer(config, img_size=512, iters=20, warmup=3, device='cpu', vs_torchvision=False,
                torchvision_variant='finetune', cfg_options=None, seed=0, top_ops=0):
    """Per-image latency (batch 1) in eval mode, median and p90, and images/s (1 / mean latency).

    Detections are forced (``score_thr=0``, at most ``FORCED_DETECTIONS`` per image; torchvision
    ``box_score_thresh=0``) so the keypoint branch of a random-init model does a trained model's work.
    """
    _check_iters(iters, warmup)
    device = torch.device(device)
    torch.manual_seed(seed)
    batches = synthetic_batches(max(1, min(8, warmup + iters)), 1, img_size, seed=seed)
    images = [b['images'][0] for b in batches]
    result = OrderedDict(config=config, img_size=img_size, iters=iters, warmup=warmup,
                         device=str(device), forced_detections=FORCED_DETECTIONS, notes=[
                             'detections forced: test_cfg.rcnn.score_thr=0, max_per_img='
                             f'{FORCED_DETECTIONS} (torchvision box_score_thresh=0, '
                             f'box_detections_per_img={FORCED_DETECTIONS}); batch of 1 image'])
    result['ours'] = _measure_infer(
        lambda: build_mmdet_model(config, device, train=False, cfg_options=cfg_options,
                                  bn_images=_bn_images(batches)), 'mmdet',
        images, iters, warmup, device, top_ops)
    if vs_torchvision:
        result['torchvision_variant'] = torchvision_variant
        result['torchvision'] = _measure_infer(
            lambda: build_torchvision_model(img_size, device, train=False,
                                            variant=torchvision_variant),
            'torchvision', images, iters, warmup, device, top_ops)
        result['ratio_ours_over_torchvision'] = (result['ours']['latency_ms_median'] /
                                                 result['torchvision']['latency_ms_median'])
        result['differences'] = list(TORCHVISION_DIFFERENCES)
    return result


def format_infer(result):
    models = [('ours', result['ours'])]
    if 'torchvision' in result:
        models.append((f"torchvision ({result['torchvision_variant']})", result['torchvision']))
    rows = [(name, r['latency_ms_median'], r['latency_ms_p90'], r['images_per_s'],
             r['detections_per_image'], r['memory']['peak_mb']) for name, r in models]
    memory = 'peak GPU MB' if result['device'].startswith('cuda') else 'peak RSS MB'
    text = (f"infer {result['config']}  S={result['img_size']} iters={result['iters']} "
            f"(after {result['warmup']} warm-up) device={result['device']}\n")
    text += format_table(('model', 'ms median', 'ms p90', 'images/s', 'detections/img', memory),
                         rows)
    if 'ratio_ours_over_torchvision' in result:
        text += (f"\nratio ours / torchvision (median latency): "
                 f"{result['ratio_ours_over_torchvision']:.2f}")
    text += _format_top_ops([(name, r) for name, r in models])
    return text + _notes(result)


def _format_top_ops(models):
    text = ''
    for name, res in models:
        if res and res.get('top_ops'):
            text += f'\n{name}: top operators by self time (one more call, torch.profiler)\n'
            text += format_table(('operator', 'self ms', 'calls'),
                                 [(o['name'], o['self_ms'], o['calls']) for o in res['top_ops']])
    return text


# ----------------------------------------------------------------------------- profile
PROFILE_PARTS = ('input transform', 'backbone', 'neck', 'rpn', 'rpn proposals (nms)',
                 'box assign+sample', 'box head', 'keypoint head', 'codecs (target encoding)',
                 'loss', 'backward', 'optimizer step', 'other')


class _NullTimer:

    @contextmanager
    def region(self, name):
        yield


class RegionTimer:
    """Exclusive wall time per named region of one iteration, regions nested by calls.

    A region's time excludes the regions opened inside it, so the parts add up to the iteration.
    Methods of modules (instance attributes) and functions of Python modules (module globals) are
    wrapped in regions by :meth:`wrap` until :meth:`restore`. Each region is also a
    ``torch.profiler.record_function`` range, so a torch.profiler trace shows the same parts.
    CUDA work is synchronised at region boundaries.
    """

    def __init__(self, device):
        self.device = torch.device(device)
        self.exclusive = OrderedDict()
        self.counts = OrderedDict()
        self._stack = []
        self._patches = []

    def reset(self):
        self.exclusive = OrderedDict()
        self.counts = OrderedDict()

    @contextmanager
    def region(self, name):
        synchronize(self.device)
        frame = [time.perf_counter(), 0.0]  # start, time spent in nested regions
        self._stack.append(frame)
        try:
            with torch.profiler.record_function(name):
                yield
        finally:
            synchronize(self.device)
            self._stack.pop()
            elapsed = time.perf_counter() - frame[0]
            self.exclusive[name] = self.exclusive.get(name, 0.0) + elapsed - frame[1]
            if self._stack:
                self._stack[-1][1] += elapsed

    def wrap(self, owner, attr, name, count=None):
        """Time ``owner.attr(...)`` as region ``name`` (None: do not time it); ``count(args, kwargs,
        out)`` -> (key, n) adds n to ``counts[key]``."""
        original = getattr(owner, attr)
        own = attr in vars(owner)

        def timed(*args, **kwargs):
            with (self.region(name) if name else nullcontext()):
                out = original(*args, **kwargs)
            if count is not None:
                key, n = count(args, kwargs, out)
                self.counts[key] = self.counts.get(key, 0) + n
            return out

        setattr(owner, attr, timed)
        self._patches.append((owner, attr, original, own))

    def restore(self):
        for owner, attr, original, own in reversed(self._patches):
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
        self._patches = []


def _count_keypoint_rois(args, kwargs, out):
    return 'keypoint RoIs per batch', len(args[1])


def _count_box_rois(args, kwargs, out):
    return 'box RoIs per batch', len(args[1])


def _count_pooled(key):
    return lambda args, kwargs, out: (key, sum(len(p) for p in args[1]))


def _wrap_roi_counts(timer, model, kind):
    """Count (not time) the RoIs of the box and keypoint branches."""
    if kind == 'mmdet':
        timer.wrap(model.roi_head, '_bbox_forward', None, count=_count_box_rois)
        timer.wrap(model.roi_head, '_keypoint_forward', None, count=_count_keypoint_rois)
    else:
        heads = model.roi_heads
        timer.wrap(heads.box_roi_pool, 'forward', None, count=_count_pooled('box RoIs per batch'))
        timer.wrap(heads.keypoint_roi_pool, 'forward', None,
                   count=_count_pooled('keypoint RoIs per batch'))


def _mean_counts(counts):
    keys = list(OrderedDict.fromkeys(k for c in counts for k in c))
    return OrderedDict((k, float(np.mean([c.get(k, 0) for c in counts]))) for k in keys)


def _wrap_mmdet(timer, model):
    roi_head = model.roi_head
    timer.wrap(model.backbone, 'forward', 'backbone')
    if model.with_neck:
        timer.wrap(model.neck, 'forward', 'neck')
    timer.wrap(model.rpn_head, 'forward_train', 'rpn')
    timer.wrap(model.rpn_head, 'loss', 'loss')
    timer.wrap(model.rpn_head, 'get_bboxes', 'rpn proposals (nms)',
               count=lambda a, k, out: ('proposals per batch', sum(len(p) for p in out)))
    timer.wrap(roi_head.bbox_assigner, 'assign', 'box assign+sample')
    timer.wrap(roi_head.bbox_sampler, 'sample', 'box assign+sample')
    timer.wrap(roi_head, '_bbox_forward', 'box head', count=_count_box_rois)
    timer.wrap(roi_head.bbox_head, 'get_targets', 'loss')
    timer.wrap(roi_head.bbox_head, 'loss', 'loss')
    timer.wrap(roi_head, '_keypoint_forward', 'keypoint head', count=_count_keypoint_rois)
    timer.wrap(roi_head.keypoint_head, 'get_targets', 'codecs (target encoding)')
    timer.wrap(roi_head.keypoint_head, 'loss', 'loss')
    timer.wrap(model, '_parse_losses', 'loss')


def _wrap_torchvision(timer, model):
    from torchvision.models.detection import roi_heads as tv_roi_heads
    heads = model.roi_heads
    timer.wrap(model.transform, 'forward', 'input transform')
    timer.wrap(model.backbone.body, 'forward', 'backbone')
    timer.wrap(model.backbone.fpn, 'forward', 'neck')
    timer.wrap(model.rpn, 'forward', 'rpn')
    timer.wrap(model.rpn, 'filter_proposals', 'rpn proposals (nms)',
               count=lambda a, k, out: ('proposals per batch', sum(len(p) for p in out[0])))
    timer.wrap(model.rpn, 'assign_targets_to_anchors', 'loss')
    timer.wrap(model.rpn, 'compute_loss', 'loss')
    timer.wrap(heads, 'select_training_samples', 'box assign+sample')
    timer.wrap(heads.box_roi_pool, 'forward', 'box head', count=_count_pooled('box RoIs per batch'))
    timer.wrap(heads.box_head, 'forward', 'box head')
    timer.wrap(heads.box_predictor, 'forward', 'box head')
    timer.wrap(heads.keypoint_roi_pool, 'forward', 'keypoint head',
               count=_count_pooled('keypoint RoIs per batch'))
    timer.wrap(heads.keypoint_head, 'forward', 'keypoint head')
    timer.wrap(heads.keypoint_predictor, 'forward', 'keypoint head')
    timer.wrap(tv_roi_heads, 'fastrcnn_loss', 'loss')
    timer.wrap(tv_roi_heads, 'keypointrcnn_loss', 'loss')
    timer.wrap(tv_roi_heads, 'keypoints_to_heatmap', 'codecs (target encoding)')


def _profile_model(build, kind, batches, iters, warmup, device, top_ops, jitter_proposals):
    model = build()
    step = _TrainStep(model, kind, device, jitter_proposals=jitter_proposals)
    data = [_inputs(kind, b, device) for b in batches]
    timer = RegionTimer(device)
    (_wrap_mmdet if kind == 'mmdet' else _wrap_torchvision)(timer, model)
    per_iter, counts, totals = [], [], []
    try:
        for i in range(warmup + iters):
            timer.reset()
            synchronize(device)
            start = time.perf_counter()
            step(data[i % len(data)], timer)
            synchronize(device)
            if i >= warmup:
                totals.append(1e3 * (time.perf_counter() - start))
                per_iter.append({k: 1e3 * v for k, v in timer.exclusive.items()})
                counts.append(dict(timer.counts))
        ops = _top_ops(partial(step, data[0]), device, top_ops) if top_ops else None
    finally:
        timer.restore()
    parts = OrderedDict((part, float(np.median([it.get(part, 0.0) for it in per_iter])))
                        for part in PROFILE_PARTS)
    result = OrderedDict(
        parts_ms=parts, parts_sum_ms=float(sum(parts.values())),
        iteration_ms_median=float(np.median(totals)),
        counts=_mean_counts(counts),
        top_ops=ops)
    del step, model, data
    _release_memory()
    return result


def _top_ops(fn, device, limit):
    """The ``limit`` operators with most self time over one more call of ``fn()`` (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU]
    if torch.device(device).type == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        fn()
        synchronize(device)
    events = prof.key_averages()
    cuda = torch.device(device).type == 'cuda'
    key = 'self_device_time_total' if cuda else 'self_cpu_time_total'
    events = sorted(events, key=lambda e: getattr(e, key, 0), reverse=True)
    return [OrderedDict(name=e.key, self_ms=getattr(e, key, 0) / 1e3, calls=e.count)
            for e in events[:limit]]


def _find_dataset_files(data_root):
    """``(ann_file, img_prefix)`` of the training split under ``data_root`` (COCO or synthetic)."""
    import glob
    anns = sorted(glob.glob(os.path.join(data_root, 'annotations', 'person_keypoints_train*.json')))
    if not anns:
        raise FileNotFoundError(f'no annotations/person_keypoints_train*.json under {data_root}')
    for prefix in ('images/train', 'train2017', 'images/train2017'):
        if os.path.isdir(os.path.join(data_root, prefix)):
            return anns[0], os.path.join(data_root, prefix) + '/'
    raise FileNotFoundError(f'no images/train/ or train2017/ under {data_root}')


def bench_data_loading(config, data_root, batch_size=2, iters=5, warmup=1, cfg_options=None):
    """ms to produce one batch from the config's training ``CocoKeypointDataset`` and pipeline
    (``workers_per_gpu=0``: the work one loader worker does per batch, in the main process)."""
    from mmdet.datasets import build_dataloader, build_dataset
    import mmhrkpt  # noqa: F401
    cfg = load_config(config, cfg_options)
    ann_file, img_prefix = _find_dataset_files(data_root)
    dataset_cfg = cfg.data.train
    while 'dataset' in dataset_cfg:  # RepeatDataset and friends
        dataset_cfg = dataset_cfg.dataset
    dataset_cfg.ann_file, dataset_cfg.img_prefix = ann_file, img_prefix
    dataset = build_dataset(cfg.data.train)
    loader = build_dataloader(dataset, samples_per_gpu=batch_size, workers_per_gpu=0, num_gpus=1,
                              dist=False, shuffle=True, seed=0, persistent_workers=False)
    times = []
    it = iter(loader)
    for i in range(warmup + iters):
        start = time.perf_counter()
        try:
            next(it)
        except StopIteration:
            it = iter(loader)
            next(it)
        if i >= warmup:
            times.append(1e3 * (time.perf_counter() - start))
    return OrderedDict(batch_ms_median=float(np.median(times)), batch_size=batch_size,
                       ann_file=ann_file, img_prefix=img_prefix, num_images=len(dataset),
                       batch_ms_all=times)


def bench_profile(config, img_size=512, batch_size=2, iters=3, warmup=1, device='cpu',
                  data_root=None, vs_torchvision=False, torchvision_variant='finetune', top_ops=0,
                  cfg_options=None, seed=0, jitter_proposals=0):
    """One training iteration split into ``PROFILE_PARTS`` (medians over ``iters`` iterations).

    Parts are exclusive wall times and add up to the iteration: 'other' is the forward glue outside the
    named parts (mmdet's bbox2roi, RoI expansion, sampling bookkeeping; torchvision's proposal matching
    for the keypoint branch...). 'loss' gathers every loss and its targets except the keypoint heatmap
    targets ('codecs'): RPN anchor targets and loss, box targets and loss, keypoint loss, loss sum.
    Data loading is measured apart (``data_root``: a COCO-format keypoint dataset), else n/a.
    ``jitter_proposals``: as :func:`bench_train`.
    """
    _check_iters(iters, warmup)
    device = torch.device(device)
    torch.manual_seed(seed)
    batches = synthetic_batches(max(1, min(4, warmup + iters)), batch_size, img_size, seed=seed)
    result = OrderedDict(config=config, img_size=img_size, batch_size=batch_size, iters=iters,
                         warmup=warmup, device=str(device), jitter_proposals=jitter_proposals,
                         notes=[])
    result['ours'] = _profile_model(
        lambda: build_mmdet_model(config, device, train=True, cfg_options=cfg_options,
                                  bn_images=_bn_images(batches)), 'mmdet',
        batches, iters, warmup, device, top_ops, jitter_proposals)
    if data_root:
        result['data_loading'] = bench_data_loading(config, data_root, batch_size,
                                                    cfg_options=cfg_options)
    else:
        result['data_loading'] = None
        result['notes'].append('data loading: n/a (give --data-root with a COCO-format keypoint '
                               'dataset)')
    if vs_torchvision:
        result['torchvision_variant'] = torchvision_variant
        result['torchvision'] = _profile_model(
            lambda: build_torchvision_model(img_size, device, train=True,
                                            variant=torchvision_variant),
            'torchvision', batches, iters, warmup, device, top_ops, jitter_proposals)
        result['differences'] = list(TORCHVISION_DIFFERENCES)
    return result


def format_profile(result):
    ours, tv = result['ours'], result.get('torchvision')
    total = ours['parts_sum_ms']
    headers = ['part', 'ours ms', 'ours %']
    if tv:
        headers += ['torchvision ms', 'tv %', 'ours/tv']
    rows = []
    for part in PROFILE_PARTS:
        row = [part, ours['parts_ms'][part], 100 * ours['parts_ms'][part] / total]
        if tv:
            tv_ms = tv['parts_ms'][part]
            row += [tv_ms, 100 * tv_ms / tv['parts_sum_ms'],
                    ours['parts_ms'][part] / tv_ms if tv_ms > 0 else None]
        rows.append(row)
    row = ['iteration (sum of parts)', total, 100.0]
    if tv:
        row += [tv['parts_sum_ms'], 100.0, total / tv['parts_sum_ms']]
    rows.append(row)
    row = ['iteration (wall, median)', ours['iteration_ms_median'], None]
    if tv:
        row += [tv['iteration_ms_median'], None,
                ours['iteration_ms_median'] / tv['iteration_ms_median']]
    rows.append(row)
    loading = result.get('data_loading')
    row = ['data loading (per batch, apart)', loading['batch_ms_median'] if loading else None, None]
    if tv:
        row += [None, None, None]
    rows.append(row)
    text = (f"profile {result['config']}  S={result['img_size']} B={result['batch_size']} "
            f"median of {result['iters']} iterations (after {result['warmup']}) "
            f"device={result['device']} jitter-proposals={result['jitter_proposals']}\n")
    text += format_table(headers, rows)
    for name, res in (('ours', ours), ('torchvision', tv)):
        if res:
            text += f'\n{name}: ' + ', '.join(f'{k} {v:.0f}' for k, v in res['counts'].items())
    text += _format_top_ops((('ours', ours), ('torchvision', tv)))
    return text + _notes(result)
