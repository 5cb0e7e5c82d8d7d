"""``benchmark.py profile``: one training iteration broken down into its parts (exclusive times
that add up to the iteration), plus data loading from a real ``CocoKeypointDataset`` when one is given.

The same step as ``benchmark.py train`` (:class:`benchmark_model.TrainStep`), its model's modules
wrapped in :class:`benchmark_utils.RegionTimer` regions.
"""
import copy
import glob
import os
import time
from collections import OrderedDict
from functools import partial

import numpy as np
import torch
from benchmark_model import (TORCHVISION_DIFFERENCES, TrainStep, build_mmdet_model, build_torchvision_model,
                             check_iters, count_box_rois, count_keypoint_rois, count_pooled, format_notes,
                             format_top_ops, load_config, mean_counts, model_inputs, normalised_images,
                             synthetic_batches)
from benchmark_utils import (RegionTimer, cpu_bf16_mode, format_table, profile_top_ops, release_memory,
                             synchronize)

from mmhrkpt.engine import CPUBF16Autocast

PROFILE_PARTS = ('input transform', 'backbone', 'neck', 'rpn', 'rpn proposals (nms)', 'box assign+sample',
                 'box head', 'keypoint head', 'codecs (target encoding)', 'loss', 'backward',
                 'optimizer step', 'other')


def _wrap_mmdet(timer, model):
    roi_head = model.roi_head
    timer.wrap(model.backbone, 'forward', 'backbone')
    if model.with_neck:
        timer.wrap(model.neck, 'forward', 'neck')
    timer.wrap(model.rpn_head, 'forward_train', 'rpn')
    timer.wrap(model.rpn_head, 'loss', 'loss')
    timer.wrap(
        model.rpn_head,
        'get_bboxes',
        'rpn proposals (nms)',
        count=lambda a, k, out: ('proposals per batch', sum(len(p) for p in out)))
    timer.wrap(roi_head.bbox_assigner, 'assign', 'box assign+sample')
    timer.wrap(roi_head.bbox_sampler, 'sample', 'box assign+sample')
    timer.wrap(roi_head, '_bbox_forward', 'box head', count=count_box_rois)
    timer.wrap(roi_head.bbox_head, 'get_targets', 'loss')
    timer.wrap(roi_head.bbox_head, 'loss', 'loss')
    timer.wrap(roi_head, '_keypoint_forward', 'keypoint head', count=count_keypoint_rois)
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
    timer.wrap(
        model.rpn,
        'filter_proposals',
        'rpn proposals (nms)',
        count=lambda a, k, out: ('proposals per batch', sum(len(p) for p in out[0])))
    timer.wrap(model.rpn, 'assign_targets_to_anchors', 'loss')
    timer.wrap(model.rpn, 'compute_loss', 'loss')
    timer.wrap(heads, 'select_training_samples', 'box assign+sample')
    timer.wrap(heads.box_roi_pool, 'forward', 'box head', count=count_pooled('box RoIs per batch'))
    timer.wrap(heads.box_head, 'forward', 'box head')
    timer.wrap(heads.box_predictor, 'forward', 'box head')
    timer.wrap(
        heads.keypoint_roi_pool, 'forward', 'keypoint head', count=count_pooled('keypoint RoIs per batch'))
    timer.wrap(heads.keypoint_head, 'forward', 'keypoint head')
    timer.wrap(heads.keypoint_predictor, 'forward', 'keypoint head')
    timer.wrap(tv_roi_heads, 'fastrcnn_loss', 'loss')
    timer.wrap(tv_roi_heads, 'keypointrcnn_loss', 'loss')
    timer.wrap(tv_roi_heads, 'keypoints_to_heatmap', 'codecs (target encoding)')


class _ProfiledModel:
    """A model, its training step and its timers: :meth:`step` runs (and times) one iteration."""

    def __init__(self, model, kind, batches, device, jitter_proposals, cpu_bf16=False):
        self.model, self.kind, self.device = model, kind, device
        self.bf16 = CPUBF16Autocast(model) if cpu_bf16 else None
        self.train_step = TrainStep(model, kind, device, jitter_proposals=jitter_proposals)
        self.data = [model_inputs(kind, b, device) for b in batches]
        self.timer = RegionTimer(device)
        (_wrap_mmdet if kind == 'mmdet' else _wrap_torchvision)(self.timer, model)
        self.per_iter, self.counts, self.totals, self.losses = [], [], [], []

    def step(self, i, timed):
        self.timer.reset()
        synchronize(self.device)
        start = time.perf_counter()
        loss = self.train_step(self.data[i % len(self.data)], self.timer)
        synchronize(self.device)
        if timed:
            self.totals.append(1e3 * (time.perf_counter() - start))
            self.per_iter.append({k: 1e3 * v for k, v in self.timer.exclusive.items()})
            self.counts.append(dict(self.timer.counts))
        self.losses.append(loss)

    def result(self, top_ops=0):
        try:
            ops = (
                profile_top_ops(partial(self.train_step, self.data[0]), self.device, top_ops)
                if top_ops else None)
        finally:
            self.timer.restore()
            if self.bf16 is not None:
                self.bf16.remove()
        parts = OrderedDict(
            (part, float(np.median([it.get(part, 0.0) for it in self.per_iter]))) for part in PROFILE_PARTS)
        return OrderedDict(
            parts_ms=parts,
            parts_sum_ms=float(sum(parts.values())),
            iteration_ms_median=float(np.median(self.totals)),
            iteration_ms_all=self.totals,
            counts=mean_counts(self.counts),
            losses=self.losses,
            top_ops=ops)


def _profile_model(build, kind, batches, iters, warmup, device, top_ops, jitter_proposals, cpu_bf16=False):
    profiled = _ProfiledModel(build(), kind, batches, device, jitter_proposals, cpu_bf16)
    for i in range(warmup + iters):
        profiled.step(i, timed=i >= warmup)
    result = profiled.result(top_ops)
    del profiled
    release_memory()
    return result


def _profile_ab_bf16(build, batches, iters, warmup, device, top_ops, jitter_proposals, seed):
    """The same model in float32 (A) and with ``cpu_bf16`` (B): two copies with the same initial
    weights whose iterations alternate in this process (A B, B A, A B, ...), on the same batches with
    the same random seed per iteration, so that both meet the same load and the same RoI sampling.

    Returns:
        tuple[dict, dict, dict]: A's and B's results (as :func:`_profile_model`) and the comparison
        (``bf16_over_fp32`` of the median iterations, losses per iteration, largest relative
        difference of the losses).
    """
    model = build()
    twin = copy.deepcopy(model)
    runs = (_ProfiledModel(model, 'mmdet', batches, device, jitter_proposals),
            _ProfiledModel(twin, 'mmdet', batches, device, jitter_proposals, cpu_bf16=True))
    for i in range(warmup + iters):
        for run in (runs if i % 2 == 0 else runs[::-1]):
            torch.manual_seed(seed + i)  # the samplers' draws, the same for A and B
            run.step(i, timed=i >= warmup)
    fp32, bf16 = (run.result(top_ops) for run in runs)
    rel = [abs(b - a) / max(abs(a), 1e-12) for a, b in zip(fp32['losses'], bf16['losses'])]
    # on a shared machine single iterations can take several times their idle time: the ratio within
    # each interleaved pair and the ratio of the fastest iterations are steadier than the medians
    pairs = [b / a for a, b in zip(fp32['iteration_ms_all'], bf16['iteration_ms_all'])]
    comparison = OrderedDict(
        bf16_over_fp32=bf16['iteration_ms_median'] / fp32['iteration_ms_median'],
        bf16_over_fp32_pair_median=float(np.median(pairs)),
        bf16_over_fp32_fastest=min(bf16['iteration_ms_all']) / min(fp32['iteration_ms_all']),
        losses_fp32=fp32['losses'],
        losses_bf16=bf16['losses'],
        loss_max_rel_diff=float(max(rel)),
        loss_rel_diff=rel)
    del runs, model, twin
    release_memory()
    return fp32, bf16, comparison


def _find_dataset_files(data_root):
    """``(ann_file, img_prefix)`` of the training split under ``data_root`` (COCO or synthetic)."""
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
    loader = build_dataloader(
        dataset,
        samples_per_gpu=batch_size,
        workers_per_gpu=0,
        num_gpus=1,
        dist=False,
        shuffle=True,
        seed=0,
        persistent_workers=False)
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
    return OrderedDict(
        batch_ms_median=float(np.median(times)),
        batch_size=batch_size,
        ann_file=ann_file,
        img_prefix=img_prefix,
        num_images=len(dataset),
        batch_ms_all=times)


def bench_profile(config,
                  img_size=512,
                  batch_size=2,
                  iters=3,
                  warmup=1,
                  device='cpu',
                  data_root=None,
                  vs_torchvision=False,
                  torchvision_variant='finetune',
                  top_ops=0,
                  cfg_options=None,
                  seed=0,
                  jitter_proposals=0,
                  cpu_bf16='off'):
    """One training iteration split into ``PROFILE_PARTS`` (medians over ``iters`` iterations).

    Parts are exclusive wall times and add up to the iteration: 'other' is the forward glue outside the
    named parts (mmdet's bbox2roi, RoI expansion, sampling bookkeeping; torchvision's proposal matching
    for the keypoint branch...). 'loss' gathers every loss and its targets except the keypoint heatmap
    targets ('codecs'): RPN anchor targets and loss, box targets and loss, keypoint loss, loss sum.
    Data loading is measured apart (``data_root``: a COCO-format keypoint dataset), else n/a.
    ``jitter_proposals``: as :func:`benchmark_model.bench_train`.
    ``cpu_bf16``: 'on' profiles ours with bfloat16 autocast (:mod:`mmhrkpt.engine.cpu_bf16`); 'ab'
    profiles ours in float32 (``ours``) and with it (``ours_bf16``), iterations interleaved
    (:func:`_profile_ab_bf16`), and compares them (``bf16_vs_fp32``). Refused (a note, float32) where the
    CPU has no native bfloat16.
    """
    check_iters(iters, warmup)
    device = torch.device(device)
    torch.manual_seed(seed)
    batches = synthetic_batches(max(1, min(4, warmup + iters)), batch_size, img_size, seed=seed)
    result = OrderedDict(
        config=config,
        img_size=img_size,
        batch_size=batch_size,
        iters=iters,
        warmup=warmup,
        device=str(device),
        jitter_proposals=jitter_proposals,
        notes=[])
    result['cpu_bf16'] = cpu_bf16_mode(cpu_bf16, device, result['notes'])

    def build():
        return build_mmdet_model(
            config, device, train=True, cfg_options=cfg_options, bn_images=normalised_images(batches))

    if result['cpu_bf16'] == 'ab':
        result['ours'], result['ours_bf16'], result['bf16_vs_fp32'] = _profile_ab_bf16(
            build, batches, iters, warmup, device, top_ops, jitter_proposals, seed)
    else:
        result['ours'] = _profile_model(
            build,
            'mmdet',
            batches,
            iters,
            warmup,
            device,
            top_ops,
            jitter_proposals,
            cpu_bf16=result['cpu_bf16'] == 'on')
    if data_root:
        result['data_loading'] = bench_data_loading(config, data_root, batch_size, cfg_options=cfg_options)
    else:
        result['data_loading'] = None
        result['notes'].append('data loading: n/a (give --data-root with a COCO-format keypoint '
                               'dataset)')
    if vs_torchvision:
        result['torchvision_variant'] = torchvision_variant
        result['torchvision'] = _profile_model(
            lambda: build_torchvision_model(img_size, device, train=True, variant=torchvision_variant),
            'torchvision', batches, iters, warmup, device, top_ops, jitter_proposals)
        result['differences'] = list(TORCHVISION_DIFFERENCES)
    return result


def _columns(result):
    """(name, result, ratio header, ratio function) of every model profiled beside ours."""
    columns = []
    if result.get('ours_bf16'):
        columns.append(('ours bf16', result['ours_bf16'], 'bf16/fp32', lambda ours, other: other / ours))
    if result.get('torchvision'):
        columns.append(('torchvision', result['torchvision'], 'ours/tv', lambda ours, other: ours / other))
    return columns


def format_profile(result):
    ours = result['ours']
    columns = _columns(result)
    total = ours['parts_sum_ms']
    first = 'ours fp32' if result.get('ours_bf16') else 'ours'
    headers = ['part', f'{first} ms', f'{first} %']
    for name, _, ratio_name, _ in columns:
        headers += [f'{name} ms', f'{name} %', ratio_name]

    def ratio(fn, a, b):
        return fn(a, b) if a > 0 and b > 0 else None

    rows = []
    for part in PROFILE_PARTS:
        row = [part, ours['parts_ms'][part], 100 * ours['parts_ms'][part] / total]
        for _, other, _, fn in columns:
            ms = other['parts_ms'][part]
            row += [ms, 100 * ms / other['parts_sum_ms'], ratio(fn, ours['parts_ms'][part], ms)]
        rows.append(row)
    row = ['iteration (sum of parts)', total, 100.0]
    for _, other, _, fn in columns:
        row += [other['parts_sum_ms'], 100.0, ratio(fn, total, other['parts_sum_ms'])]
    rows.append(row)
    row = ['iteration (wall, median)', ours['iteration_ms_median'], None]
    for _, other, _, fn in columns:
        row += [
            other['iteration_ms_median'], None,
            ratio(fn, ours['iteration_ms_median'], other['iteration_ms_median'])
        ]
    rows.append(row)
    loading = result.get('data_loading')
    rows.append(['data loading (per batch, apart)', loading['batch_ms_median'] if loading else None, None] +
                [None, None, None] * len(columns))
    text = (f"profile {result['config']}  S={result['img_size']} B={result['batch_size']} "
            f"median of {result['iters']} iterations (after {result['warmup']}) "
            f"device={result['device']} jitter-proposals={result['jitter_proposals']} "
            f"cpu-bf16={result.get('cpu_bf16', 'off')}\n")
    text += format_table(headers, rows)
    named = [(first, ours)] + [(name, other) for name, other, _, _ in columns]
    for name, res in named:
        text += f'\n{name}: ' + ', '.join(f'{k} {v:.0f}' for k, v in res['counts'].items())
    comparison = result.get('bf16_vs_fp32')
    if comparison:
        pairs = ', '.join(f'{a:.4f}/{b:.4f}'
                          for a, b in zip(comparison['losses_fp32'], comparison['losses_bf16']))
        text += (f"\nbf16 / fp32 (interleaved): {comparison['bf16_over_fp32']:.3f} of the median iterations, "
                 f"{comparison['bf16_over_fp32_pair_median']:.3f} median of the pairs, "
                 f"{comparison['bf16_over_fp32_fastest']:.3f} of the fastest iterations"
                 f"\nloss per iteration fp32/bf16 (same weights at the start, same batches and "
                 f"seeds): {pairs}; largest relative difference {comparison['loss_max_rel_diff']:.2%}")
    text += format_top_ops(named)
    return text + format_notes(result)
