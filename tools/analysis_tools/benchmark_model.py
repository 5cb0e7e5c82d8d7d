"""``benchmark.py train`` and ``infer``: a config's randomly initialised model on synthetic batches,
optionally next to torchvision's Keypoint R-CNN on the same batches.

Shape legend: N RoIs, K keypoints, B images per batch, S the image side.

* :func:`bench_train`: steady-state training throughput and peak memory.
* :func:`bench_infer`: per-image latency in eval mode, with a forced number of detections.

The synthetic batches, the model builders and the training step here are also what
``benchmark_profile`` breaks down.
"""
import logging
import math
import time
from collections import OrderedDict
from contextlib import nullcontext
from functools import partial

import numpy as np
import torch
from benchmark_utils import (NUM_KEYPOINTS, VISIBILITY_PROBS, NullTimer, PeakMemory, RegionTimer,
                             cpu_bf16_mode, format_table, percentile, profile_top_ops, release_memory,
                             synchronize)

# Synthetic detection data: persons per image, box height as a fraction of the image side, and box
# width / height.
PERSONS_PER_IMAGE = (2, 5)
PERSON_HEIGHT = (0.3, 0.9)
PERSON_ASPECT = (0.35, 0.7)
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


# ----------------------------------------------------------------------------- synthetic batches
def image_hw(img_size):
    """(H, W) of ``img_size``: S (a square) or (H, W)."""
    if isinstance(img_size, int):
        return img_size, img_size
    height, width = img_size
    return int(height), int(width)


def synthetic_batches(num_batches, batch_size, img_size, num_keypoints=NUM_KEYPOINTS, seed=0):
    """Random images with a few persons each: what both models train and infer on.

    Args:
        img_size (int | tuple[int, int]): S (square images) or (H, W).

    Returns:
        list[dict]: per batch ``images`` Tensor[B, 3, H, W] in [0, 1], ``boxes`` list of Tensor[n, 4]
        (x1, y1, x2, y2) and ``keypoints`` list of Tensor[n, K, 3] (x, y, v) inside their boxes.
    """
    gen = torch.Generator().manual_seed(seed)
    img_h, img_w = image_hw(img_size)
    vis_probs = torch.tensor([VISIBILITY_PROBS[2], VISIBILITY_PROBS[1], VISIBILITY_PROBS[0]])
    batches = []
    for _ in range(num_batches):
        images = torch.rand(batch_size, 3, img_h, img_w, generator=gen)
        boxes, keypoints = [], []
        for _ in range(batch_size):
            n = int(torch.randint(PERSONS_PER_IMAGE[0], PERSONS_PER_IMAGE[1] + 1, (1, ), generator=gen))
            h = float(min(img_h, img_w)) * _uniform(gen, n, *PERSON_HEIGHT)
            w = h * _uniform(gen, n, *PERSON_ASPECT)
            x1 = (img_w - w) * torch.rand(n, generator=gen)
            y1 = (img_h - h) * torch.rand(n, generator=gen)
            box = torch.stack([x1, y1, x1 + w, y1 + h], dim=1)
            frac = torch.rand(n, num_keypoints, 2, generator=gen)
            xy = box[:, None, :2] + frac * (box[:, None, 2:] - box[:, None, :2])
            v = torch.multinomial(
                vis_probs, n * num_keypoints, replacement=True,
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
    meta = dict(
        img_shape=(height, width, 3),
        ori_shape=(height, width, 3),
        pad_shape=(height, width, 3),
        batch_input_shape=(height, width),
        scale_factor=np.ones(4, dtype=np.float32),
        flip=False,
        flip_direction=None)
    return dict(
        img=img,
        img_metas=[dict(meta) for _ in range(len(images))],
        gt_bboxes=[b.to(device) for b in batch['boxes']],
        gt_labels=[torch.zeros(len(b), dtype=torch.long, device=device) for b in batch['boxes']],
        gt_keypoints=[k.to(device) for k in batch['keypoints']])


def to_torchvision_inputs(batch, device):
    """``(images, targets)`` for torchvision's detection models (label 1 = person, 0 = background)."""
    images = [im.to(device) for im in batch['images']]
    targets = [
        dict(
            boxes=b.to(device),
            labels=torch.ones(len(b), dtype=torch.long, device=device),
            keypoints=k.to(device)) for b, k in zip(batch['boxes'], batch['keypoints'])
    ]
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


def normalised_images(batches):
    """The normalised images of ``batches`` for :func:`calibrate_bn`: list of Tensor[B, 3, S, S]."""
    return [to_mmdet_inputs(b, 'cpu')['img'] for b in batches]


TORCHVISION_VARIANTS = ('finetune', 'scratch')


def build_torchvision_model(img_size,
                            device='cpu',
                            train=True,
                            variant='finetune',
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
    kwargs = dict(min_size=min(image_hw(img_size)), max_size=max(image_hw(img_size)))
    if not train:
        kwargs.update(box_score_thresh=0.0, box_detections_per_img=FORCED_DETECTIONS)
    if variant == 'scratch':
        model = keypointrcnn_resnet50_fpn(
            weights=None, weights_backbone=None, num_classes=2, num_keypoints=num_keypoints, **kwargs)
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


# ----------------------------------------------------------------------------- RoI counts
# ``RegionTimer.wrap`` counters: (args, kwargs, out) of the wrapped call -> (key, n).
def count_keypoint_rois(args, kwargs, out):
    """mmdet ``roi_head._keypoint_forward(x, rois)``: the keypoint branch's RoIs."""
    return 'keypoint RoIs per batch', len(args[1])


def count_box_rois(args, kwargs, out):
    """mmdet ``roi_head._bbox_forward(x, rois)``: the box branch's RoIs."""
    return 'box RoIs per batch', len(args[1])


def count_pooled(key):
    """torchvision ``MultiScaleRoIAlign.forward(x, boxes, image_shapes)``: its boxes, as ``key``."""
    return lambda args, kwargs, out: (key, sum(len(p) for p in args[1]))


def _wrap_roi_counts(timer, model, kind):
    """Count (not time) the RoIs of the box and keypoint branches."""
    if kind == 'mmdet':
        timer.wrap(model.roi_head, '_bbox_forward', None, count=count_box_rois)
        timer.wrap(model.roi_head, '_keypoint_forward', None, count=count_keypoint_rois)
    else:
        heads = model.roi_heads
        timer.wrap(heads.box_roi_pool, 'forward', None, count=count_pooled('box RoIs per batch'))
        timer.wrap(heads.keypoint_roi_pool, 'forward', None, count=count_pooled('keypoint RoIs per batch'))


def mean_counts(counts):
    """The mean of every key over a list of per-iteration count dicts (0 where one lacks it)."""
    keys = list(OrderedDict.fromkeys(k for c in counts for k in c))
    return OrderedDict((k, float(np.mean([c.get(k, 0) for c in counts]))) for k in keys)


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
            return [
                torch.cat([p, self._with_score(p, g)])
                for p, g in zip(original(*args, **kwargs), self.gt_boxes)
            ]

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
        scale = torch.exp((torch.rand(size.shape, generator=self.generator) * 2 - 1) * JITTER_LOG_SCALE)
        centre, half = centre + shift * size, size * scale / 2
        return torch.cat([centre - half, centre + half], dim=1)

    def _with_score(self, proposals, gt):
        jittered = self._jitter(gt).to(proposals)
        return torch.cat([jittered, jittered.new_ones(len(jittered), 1)], dim=1)


class TrainStep:
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
            self.jitter.gt_boxes = (
                data['gt_bboxes'] if self.kind == 'mmdet' else [t['boxes'] for t in data[1]])
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
        timer = timer or NullTimer()
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


def model_inputs(kind, batch, device):
    return to_mmdet_inputs(batch, device) if kind == 'mmdet' else to_torchvision_inputs(batch, device)


def _measure_train(build, kind, batches, iters, warmup, device, fp16, jitter_proposals, cpu_bf16=False):
    """images/s and iteration times of one model after ``warmup`` untimed iterations."""
    with PeakMemory(device) as memory:
        model = build()
        if cpu_bf16:
            from mmhrkpt.engine import CPUBF16Autocast
            CPUBF16Autocast(model)
        step = TrainStep(model, kind, device, fp16=fp16, jitter_proposals=jitter_proposals)
        data = [model_inputs(kind, b, device) for b in batches]
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
        counts=mean_counts(counts))
    del step, model, data
    release_memory()
    return result


def bench_train(config,
                img_size=512,
                batch_size=2,
                iters=10,
                warmup=3,
                device='cpu',
                fp16=False,
                vs_torchvision=False,
                torchvision_variant='finetune',
                cfg_options=None,
                seed=0,
                jitter_proposals=0,
                cpu_bf16=False):
    """Steady-state training throughput of ``config``'s model (and torchvision's, same batches).

    ``jitter_proposals`` > 0 adds that many jittered copies of each ground-truth box to the RPN's
    proposals (:class:`ProposalJitter`), so the box and keypoint branches get as many positive RoIs as
    with a trained RPN; ``counts`` in the result say how many RoIs each branch saw per batch.
    ``cpu_bf16``: ours with bfloat16 autocast (:mod:`mmhrkpt.engine.cpu_bf16`), refused with a note
    where the CPU has no native bfloat16.

    Returns:
        dict: settings, ``ours`` (images_per_s, iter_ms_median, memory, ...), and with
        ``vs_torchvision`` ``torchvision`` likewise and ``ratio_ours_over_torchvision`` (of the median
        iteration time: > 1 means ours is slower).
    """
    check_iters(iters, warmup)
    device = torch.device(device)
    notes = []
    if fp16 and device.type != 'cuda':
        notes.append('fp16 is not supported on CPU (mmcv fp16 = CUDA autocast + GradScaler): '
                     'skipped, measured in fp32')
        fp16 = False
    if cpu_bf16:
        cpu_bf16 = cpu_bf16_mode('on', device, notes) == 'on'
    torch.manual_seed(seed)
    batches = synthetic_batches(max(1, min(4, warmup + iters)), batch_size, img_size, seed=seed)
    result = OrderedDict(
        config=config,
        img_size=img_size,
        batch_size=batch_size,
        iters=iters,
        warmup=warmup,
        device=str(device),
        fp16=fp16,
        cpu_bf16=cpu_bf16,
        persons_per_image=_persons(batches),
        jitter_proposals=jitter_proposals,
        notes=notes)
    result['ours'] = _measure_train(
        lambda: build_mmdet_model(
            config, device, train=True, cfg_options=cfg_options, bn_images=normalised_images(batches)),
        'mmdet', batches, iters, warmup, device, fp16, jitter_proposals, cpu_bf16)
    if vs_torchvision:
        result['torchvision_variant'] = torchvision_variant
        result['torchvision'] = _measure_train(
            lambda: build_torchvision_model(img_size, device, train=True, variant=torchvision_variant),
            'torchvision', batches, iters, warmup, device, fp16, jitter_proposals)
        result['ratio_ours_over_torchvision'] = (
            result['ours']['iter_ms_median'] / result['torchvision']['iter_ms_median'])
        result['differences'] = list(TORCHVISION_DIFFERENCES)
    return result


def check_iters(iters, warmup):
    if iters < 1 or warmup < 0:
        raise ValueError(f'need iters >= 1 and warmup >= 0, got iters={iters}, warmup={warmup}')


def _persons(batches):
    return float(np.mean([len(b) for batch in batches for b in batch['boxes']]))


def format_train(result):
    models = [('ours', result['ours'])]
    if 'torchvision' in result:
        models.append((f"torchvision ({result['torchvision_variant']})", result['torchvision']))
    rows = [(name, r['images_per_s'], r['iter_ms_median'], r['memory']['peak_mb'], r['memory']['increase_mb'],
             r['loss_finite'], r['trainable_params'] / 1e6, r['counts'].get('box RoIs per batch'),
             r['counts'].get('keypoint RoIs per batch')) for name, r in models]
    memory = 'peak GPU MB' if result['device'].startswith('cuda') else 'peak RSS MB'
    text = (f"train {result['config']}  S={result['img_size']} B={result['batch_size']} "
            f"iters={result['iters']} (after {result['warmup']} warm-up) fp16={result['fp16']} "
            f"cpu-bf16={result['cpu_bf16']} "
            f"device={result['device']}\n")
    text += format_table(('model', 'images/s', 'ms/iter (median)', memory, 'MB added', 'loss finite',
                          'trainable M', 'box RoIs/batch', 'kpt RoIs/batch'), rows)
    if result['jitter_proposals']:
        text += (f"\nproposals: {result['jitter_proposals']} jittered copies of each ground-truth box "
                 'added to the RPN proposals (--jitter-proposals)')
    if 'ratio_ours_over_torchvision' in result:
        text += (f"\nratio ours / torchvision (ms per iteration): "
                 f"{result['ratio_ours_over_torchvision']:.2f}")
    return text + format_notes(result)


def format_notes(result):
    lines = [f'note: {n}' for n in result.get('notes', [])]
    if 'differences' in result:
        lines.append('differences that remain vs torchvision:')
        lines += [f'  - {d}' for d in result['differences']]
    return ('\n' + '\n'.join(lines)) if lines else ''


# ----------------------------------------------------------------------------- inference
def _measure_infer(build, kind, images, iters, warmup, device, top_ops=0, fp16=False):
    with PeakMemory(device) as memory:
        model = build()
        if fp16 and kind == 'mmdet':
            from mmcv.runner import wrap_fp16_model
            wrap_fp16_model(model)  # the auto_fp16 forwards then run under autocast
        detections, times = [], []
        amp = torch.autocast('cuda') if fp16 and kind == 'torchvision' else nullcontext()
        with torch.no_grad(), amp:
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
            ops = profile_top_ops(partial(_infer_one, model, kind, images[0], device), device, top_ops)
    ms = [1e3 * t for t in times]
    result = OrderedDict(
        latency_ms_median=float(np.median(ms)),
        latency_ms_p90=percentile(ms, 90),
        latency_ms_mean=float(np.mean(ms)),
        images_per_s=1e3 / float(np.mean(ms)),
        latency_ms_all=ms,
        detections_per_image=float(np.mean(detections)),
        memory=memory.result(),
        top_ops=ops)
    del model
    release_memory()
    return result


def _infer_one(model, kind, image, device):
    """Run one image (Tensor[3, S, S] in [0, 1]); return the number of detections."""
    if kind == 'mmdet':
        data = to_mmdet_inputs(
            dict(images=image[None], boxes=[torch.zeros(0, 4)], keypoints=[torch.zeros(0, NUM_KEYPOINTS, 3)]),
            device)
        result = model(return_loss=False, rescale=True, img=[data['img']], img_metas=[data['img_metas']])
        bbox_results = result[0][0]
        return sum(len(b) for b in bbox_results)
    output = model([image.to(device)])
    return len(output[0]['boxes'])


def bench_infer(config,
                img_size=512,
                iters=20,
                warmup=3,
                device='cpu',
                vs_torchvision=False,
                torchvision_variant='finetune',
                cfg_options=None,
                seed=0,
                top_ops=0,
                fp16=False):
    """Per-image latency (batch 1) in eval mode, median and p90, and images/s (1 / mean latency).

    fp16 (CUDA only): mmcv's ``wrap_fp16_model`` as in training; torchvision under ``torch.autocast``.

    Detections are forced (``score_thr=0``, at most ``FORCED_DETECTIONS`` per image; torchvision
    ``box_score_thresh=0``) so the keypoint branch of a random-init model does a trained model's work.
    """
    check_iters(iters, warmup)
    device = torch.device(device)
    torch.manual_seed(seed)
    batches = synthetic_batches(max(1, min(8, warmup + iters)), 1, img_size, seed=seed)
    images = [b['images'][0] for b in batches]
    notes = [
        'detections forced: test_cfg.rcnn.score_thr=0, max_per_img='
        f'{FORCED_DETECTIONS} (torchvision box_score_thresh=0, '
        f'box_detections_per_img={FORCED_DETECTIONS}); batch of 1 image'
    ]
    if fp16 and device.type != 'cuda':
        notes.append('fp16 is not supported on CPU (mmcv fp16 = CUDA autocast): measured in fp32')
        fp16 = False
    result = OrderedDict(
        config=config,
        img_size=img_size,
        iters=iters,
        warmup=warmup,
        device=str(device),
        fp16=fp16,
        forced_detections=FORCED_DETECTIONS,
        notes=notes)
    result['ours'] = _measure_infer(
        lambda: build_mmdet_model(
            config, device, train=False, cfg_options=cfg_options, bn_images=normalised_images(batches)),
        'mmdet', images, iters, warmup, device, top_ops, fp16)
    if vs_torchvision:
        result['torchvision_variant'] = torchvision_variant
        result['torchvision'] = _measure_infer(
            lambda: build_torchvision_model(img_size, device, train=False, variant=torchvision_variant),
            'torchvision', images, iters, warmup, device, top_ops, fp16)
        result['ratio_ours_over_torchvision'] = (
            result['ours']['latency_ms_median'] / result['torchvision']['latency_ms_median'])
        result['differences'] = list(TORCHVISION_DIFFERENCES)
    return result


def format_infer(result):
    models = [('ours', result['ours'])]
    if 'torchvision' in result:
        models.append((f"torchvision ({result['torchvision_variant']})", result['torchvision']))
    rows = [(name, r['latency_ms_median'], r['latency_ms_p90'], r['images_per_s'], r['detections_per_image'],
             r['memory']['peak_mb']) for name, r in models]
    memory = 'peak GPU MB' if result['device'].startswith('cuda') else 'peak RSS MB'
    text = (f"infer {result['config']}  S={result['img_size']} iters={result['iters']} "
            f"(after {result['warmup']} warm-up) fp16={result['fp16']} device={result['device']}\n")
    text += format_table(('model', 'ms median', 'ms p90', 'images/s', 'detections/img', memory), rows)
    if 'ratio_ours_over_torchvision' in result:
        text += (f"\nratio ours / torchvision (median latency): "
                 f"{result['ratio_ours_over_torchvision']:.2f}")
    text += format_top_ops([(name, r) for name, r in models])
    return text + format_notes(result)


def format_top_ops(models):
    text = ''
    for name, res in models:
        if res and res.get('top_ops'):
            text += f'\n{name}: top operators by self time (one more call, torch.profiler)\n'
            text += format_table(('operator', 'self ms', 'calls'),
                                 [(o['name'], o['self_ms'], o['calls']) for o in res['top_ops']])
    return text
