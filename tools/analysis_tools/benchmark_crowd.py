"""``benchmark.py crowd``: per-image latency as the crowd grows, one network against detector + top-down.

On one image, for each N of ``--people``:

* **ours**: each ``--config`` of this project through its user path (``mmhrkpt.apis.init_model`` +
  ``inference_model``: the config's test pipeline, the whole network, keypoint decoding), random init
  with N detections forced (``test_cfg.rcnn.score_thr=0``, ``max_per_img=N``; the count is checked);
* **top-down**: mmdet's Faster R-CNN R50-FPN (``faster_rcnn_r50_fpn_1x_coco.py`` of mmdet's package)
  through ``mmdet.apis.inference_detector``, then mmpose 0.29's top-down HRNet-W32 256x192 DARK
  (``hrnet_w32_coco_256x192_dark.py`` of mmpose's package) through
  ``mmpose.apis.inference_top_down_pose_model`` on N person boxes: mmpose's own crop pre-processing,
  one batch of the N crops (as mmpose batches them), its DARK post-processing. Random init; the random
  detector's boxes are not used, the N boxes are a fixed grid of person-shaped boxes.

The pipelines alternate call by call (after a warm-up at the first N), so both meet the same machine
load; the median per N, the least-squares line latency = fixed + N * per-person (ms), the ratio ours /
top-down per N, the crossover (the smallest N of the list from which ours is faster at every larger N)
and the peak memory of each (resident set on CPU, allocated on CUDA, above the loaded models) are
reported; a breakdown of the last timed call at each N says where ours spends its time, the keypoint head
layer by layer. Figures are printed and written (``--json``, a PNG plot beside it), never asserted.
"""
import os
import os.path as osp
import time
from collections import OrderedDict
from contextlib import nullcontext
from functools import partial

import numpy as np
import torch
from benchmark_utils import PeakMemory, RegionTimer, release_memory, synchronize

DEFAULT_CONFIG = 'configs/krcnn_hrnet/krcnn_hrnet_w32_hrfpn_dark_1x_coco.py'
DEFAULT_PEOPLE = (1, 2, 4, 8, 16, 32, 64)
DEFAULT_IMAGE_HW = (480, 640)  # a typical COCO photo; each pipeline resizes it as its test config says
DET_CONFIG = 'faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py'  # under mmdet's packaged configs
POSE_CONFIG = ('body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/'
               'hrnet_w32_coco_256x192_dark.py')  # under mmpose's packaged configs
PERSON_ASPECT = 0.45  # width / height of the top-down person boxes

DIFFERENCES = (
    'both random init: the detector boxes ours sees are its random-init RPN / box head output after NMS '
    '(forced to N), the top-down pose model gets a fixed grid of N person boxes instead of its random '
    "detector's output; the detector runs in full either way",
    'test-time flip: off on both sides by default (this project\'s COCO configs test without it; '
    "mmpose's config tests with it, --topdown-flip puts it back and doubles the pose network's work)",
    'ours decodes keypoints in torch on the model\'s device; mmpose decodes DARK in numpy on the CPU',
)


def person_boxes(num, img_hw, seed=0):
    """N person-shaped boxes (x1, y1, x2, y2) on a grid that covers the image, slightly jittered.

    Returns:
        np.ndarray[N, 4] float32 in image pixels.
    """
    h, w = img_hw
    cols = int(np.ceil(np.sqrt(num * w / (h * PERSON_ASPECT * 2))))
    rows = int(np.ceil(num / cols))
    cell_w, cell_h = w / cols, h / rows
    box_h = min(cell_h, cell_w / PERSON_ASPECT) * 0.9
    box_w = box_h * PERSON_ASPECT
    rng = np.random.RandomState(seed)
    boxes = []
    for i in range(num):
        cx = (i % cols + 0.5) * cell_w + rng.uniform(-0.05, 0.05) * cell_w
        cy = (i // cols + 0.5) * cell_h + rng.uniform(-0.05, 0.05) * cell_h
        boxes.append([cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2])
    return np.clip(np.asarray(boxes, dtype=np.float32), 0, [w - 1, h - 1, w - 1, h - 1])


def package_config(package, relative):
    """The path of a config shipped inside an OpenMMLab package (``.mim/configs``)."""
    path = osp.join(osp.dirname(package.__file__), '.mim', 'configs', relative)
    if not osp.exists(path):
        raise FileNotFoundError(f'{package.__name__} {package.__version__} ships no {relative} '
                                f'(looked for {path})')
    return path


class OursPipeline:
    """One of this project's configs, N detections forced, through ``mmhrkpt.apis``."""

    def __init__(self, config, device, cfg_options=None):
        from mmhrkpt.apis import init_model
        options = dict(cfg_options or {})
        options['model.test_cfg.rcnn.score_thr'] = 0.0
        self.model = init_model(config, None, device=device, cfg_options=options)
        self.config = config
        self.name = osp.splitext(osp.basename(config))[0]
        self.device = device

    def __call__(self, img, num):
        from mmhrkpt.apis import inference_model
        self.model.roi_head.test_cfg.max_per_img = num  # the roi head holds test_cfg.rcnn
        result = inference_model(self.model, img)
        found = len(result['scores'])
        if found != num:
            raise RuntimeError(f'{self.config}: {found} detections instead of the {num} forced (the random '
                               'RPN left fewer boxes after NMS: use a smaller --people or a larger image)')
        return found

    def breakdown(self, img, num):
        """Exclusive ms per part of one call (``other``: test pipeline, rescaling, the rest)."""
        model, head = self.model, self.model.roi_head.keypoint_head
        timer = RegionTimer(self.device)
        parts = [
            (model, 'extract_feat', 'backbone + neck'),
            (model.rpn_head, 'simple_test_rpn', 'rpn'),
            (model.roi_head, 'simple_test_bboxes', 'box head'),
            (model.roi_head.keypoint_roi_extractor, 'forward', 'keypoint RoIAlign'),
            (head.convs, 'forward', 'keypoint convs'),
            (head.deconvs, 'forward', 'keypoint deconvs'),
            (head.conv_logits, 'forward', 'keypoint output layer'),  # deconv or 1x1 conv to K maps
            (head, 'forward', 'keypoint upsampling'),
            (head, 'decode', 'keypoint decode'),
        ]
        for owner, attr, name in parts:
            timer.wrap(owner, attr, name)
        try:
            with timer.region('other'):
                self(img, num)
        finally:
            timer.restore()
        return OrderedDict((k, 1e3 * v) for k, v in timer.exclusive.items())


class TopDownPipeline:
    """mmdet's Faster R-CNN, then mmpose's top-down HRNet on N person boxes."""

    def __init__(self, device, det_cfg_options=None, pose_cfg_options=None, flip_test=False):
        import mmdet
        from mmcv import Config
        from mmdet.apis import inference_detector, init_detector

        from mmhrkpt.utils.mmpose_compat import import_mmpose
        mmpose = import_mmpose()
        mmpose_apis = import_mmpose('apis')
        mmpose_datasets = import_mmpose('datasets')
        det_cfg = Config.fromfile(package_config(mmdet, DET_CONFIG))
        if det_cfg_options:
            det_cfg.merge_from_dict(det_cfg_options)
        pose_cfg = Config.fromfile(package_config(mmpose, POSE_CONFIG))
        pose_cfg.model.test_cfg.flip_test = bool(flip_test)
        if pose_cfg_options:
            pose_cfg.merge_from_dict(pose_cfg_options)
        self.detector = init_detector(det_cfg, None, device=str(device))
        self.pose_model = mmpose_apis.init_pose_model(pose_cfg, None, device=str(device))
        self.dataset_info = mmpose_datasets.DatasetInfo(pose_cfg.data.test.dataset_info)
        self.flip_test = bool(pose_cfg.model.test_cfg.flip_test)
        self.device = device
        self._inference_detector = inference_detector
        self._inference_pose = mmpose_apis.inference_top_down_pose_model
        self.boxes = {}

    def __call__(self, img, num):
        self._inference_detector(self.detector, img)
        if num not in self.boxes:
            boxes = person_boxes(num, img.shape[:2])
            self.boxes[num] = [dict(bbox=np.append(b, 1.0)) for b in boxes]
        poses, _ = self._inference_pose(
            self.pose_model, img, self.boxes[num], format='xyxy', dataset_info=self.dataset_info)
        if len(poses) != num:
            raise RuntimeError(f'mmpose returned {len(poses)} poses for {num} boxes')
        return len(poses)

    def breakdown(self, img, num):
        """Exclusive ms: detector, pose network parts, ``other`` (mmpose's crop pre-processing, the rest)."""
        pose = self.pose_model
        timer = RegionTimer(self.device)
        timer.wrap(self.detector, 'forward', 'detector')
        timer.wrap(pose.backbone, 'forward', 'pose backbone')
        timer.wrap(pose.keypoint_head, 'forward', 'pose head')
        timer.wrap(pose.keypoint_head, 'decode', 'pose decode')
        try:
            with timer.region('other'):
                self(img, num)
        finally:
            timer.restore()
        return OrderedDict((k, 1e3 * v) for k, v in timer.exclusive.items())


def fit_line(people, latency_ms):
    """Least-squares latency = fixed + N * per_person; returns (per_person_ms, fixed_ms)."""
    slope, intercept = np.polyfit(np.asarray(people, dtype=np.float64), np.asarray(latency_ms), 1)
    return float(slope), float(intercept)


def crossover(people, ours_ms, topdown_ms):
    """The smallest N of ``people`` from which ours is faster at that N and every larger one (None: never)."""
    result = None
    for n in sorted(people, reverse=True):
        if ours_ms[n] < topdown_ms[n]:
            result = n
        else:
            break
    return result


def _timed(fn, device):
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return 1e3 * (time.perf_counter() - start)


def bench_crowd(
        configs=(DEFAULT_CONFIG, ),
        people=DEFAULT_PEOPLE,
        img_hw=DEFAULT_IMAGE_HW,
        iters=3,
        warmup=1,
        device='cpu',
        seed=0,
        cfg_options=None,
        det_cfg_options=None,
        pose_cfg_options=None,
        topdown_flip=False):
    """Median latency per N of every config of ours and of the top-down pipeline (module docstring)."""
    if iters < 1 or warmup < 0:
        raise ValueError(f'need iters >= 1 and warmup >= 0, got {iters}, {warmup}')
    people = sorted(set(int(n) for n in people))
    if not people or people[0] < 1:
        raise ValueError(f'--people must be positive counts, got {people}')
    device = torch.device(device)
    rng = np.random.RandomState(seed)
    img = rng.randint(0, 256, size=(img_hw[0], img_hw[1], 3), dtype=np.uint8)
    torch.manual_seed(seed)
    pipelines = OrderedDict()
    for config in configs:
        ours = OursPipeline(config, device, cfg_options)
        pipelines[ours.name] = ours
    pipelines['topdown'] = TopDownPipeline(device, det_cfg_options, pose_cfg_options, topdown_flip)
    names = list(pipelines)
    latency = OrderedDict((name, OrderedDict()) for name in names)
    all_ms = OrderedDict((name, OrderedDict()) for name in names)
    memory = OrderedDict((name, OrderedDict()) for name in names)
    breakdown = OrderedDict((name, OrderedDict()) for name in names)

    def call(name, num, with_breakdown):
        if with_breakdown:
            breakdown[name][num] = pipelines[name].breakdown(img, num)
        else:
            pipelines[name](img, num)

    with torch.no_grad():
        for name in names:  # warm-up once, at the first N: the models stay warm from one N to the next
            for _ in range(warmup):
                pipelines[name](img, people[0])
        for num in people:
            times = {name: [] for name in names}
            for i in range(iters):
                order = names if i % 2 == 0 else names[::-1]
                for name in order:
                    # the first timed call also gives the peak memory, the last one the breakdown (its
                    # region timers cost microseconds per part of a call that takes seconds)
                    last = i == iters - 1
                    with (PeakMemory(device) if i == 0 else nullcontext()) as peak:
                        times[name].append(_timed(partial(call, name, num, last), device))
                    if i == 0:
                        memory[name][num] = peak.result()
            for name in names:
                latency[name][num] = float(np.median(times[name]))
                all_ms[name][num] = times[name]
            print(
                f'N={num:3d}: ' + ', '.join(f'{name} {latency[name][num]:.0f} ms' for name in names),
                flush=True)
    release_memory()
    top = latency['topdown']
    td_slope, td_fixed = fit_line(people, [top[n] for n in people])
    per_config = OrderedDict()
    for name in names[:-1]:
        slope, fixed = fit_line(people, [latency[name][n] for n in people])
        per_config[name] = OrderedDict(
            config=pipelines[name].config,
            latency_ms=latency[name],
            ms_per_person=slope,
            fixed_ms=fixed,
            per_person_vs_topdown=slope / td_slope if td_slope > 0 else None,
            ratio=OrderedDict((n, latency[name][n] / top[n]) for n in people),
            crossover_n=crossover(people, latency[name], top))
    first = names[0]
    return OrderedDict(
        configs=list(configs),
        people=people,
        img_hw=list(img_hw),
        iters=iters,
        warmup=warmup,
        device=str(device),
        topdown=OrderedDict(
            detector=DET_CONFIG,
            pose=POSE_CONFIG,
            flip_test=pipelines['topdown'].flip_test,
            ms_per_person=td_slope,
            fixed_ms=td_fixed),
        latency_ms=OrderedDict(ours=latency[first], topdown=top),
        ms_per_person=OrderedDict(ours=per_config[first]['ms_per_person'], topdown=td_slope),
        fixed_ms=OrderedDict(ours=per_config[first]['fixed_ms'], topdown=td_fixed),
        ratio=per_config[first]['ratio'],
        crossover_n=per_config[first]['crossover_n'],
        per_config=per_config,
        latency_ms_all=all_ms,
        memory=memory,
        breakdown_ms=breakdown,
        differences=list(DIFFERENCES))


def format_crowd(result):
    people = result['people']
    names = list(result['per_config'])
    lines = ['median latency per image (ms)', 'N      ' + ''.join(f'{n:>40}' for n in names + ['topdown'])]
    for n in people:
        row = [result['per_config'][c]['latency_ms'][n] for c in names] + [result['latency_ms']['topdown'][n]]
        ratios = '  '.join(f'{result["per_config"][c]["ratio"][n]:.2f}' for c in names)
        lines.append(f'{n:<7}' + ''.join(f'{v:>40.0f}' for v in row) + f'   ours/topdown {ratios}')
    lines.append(f'topdown: {result["ms_per_person"]["topdown"]:.1f} ms/person + '
                 f'{result["fixed_ms"]["topdown"]:.0f} ms fixed (flip test {result["topdown"]["flip_test"]})')
    for c in names:
        pc = result['per_config'][c]
        # with few person counts on a busy machine the top-down fit can come out flat or falling
        ratio = pc['per_person_vs_topdown']
        vs_topdown = (f'{ratio:.2f}x top-down'
                      if ratio is not None else 'x top-down: n/a, its fitted cost per person is not positive')
        lines.append(f'{c}: {pc["ms_per_person"]:.1f} ms/person ({vs_topdown}) + '
                     f'{pc["fixed_ms"]:.0f} ms fixed; faster than top-down from N = {pc["crossover_n"]}')
    last = people[-1]
    lines.append(f'breakdown at N = {last} (ms, exclusive):')
    for name, parts in result['breakdown_ms'].items():
        lines.append(f'  {name}: ' + ', '.join(f'{k} {v:.0f}' for k, v in parts[last].items()))
    for name, per_n in result['memory'].items():
        peak = max(m['increase_mb'] or 0 for m in per_n.values())
        lines.append(f'  {name}: peak {max(m["peak_mb"] for m in per_n.values()):.0f} MB, '
                     f'{peak:.0f} MB above the loaded models')
    lines += [f'note: {d}' for d in result['differences']]
    return '\n'.join(lines)


def plot_crowd(result, path):
    """Latency vs N of every pipeline (log-log), written to ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    people = result['people']
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, pc in result['per_config'].items():
        ax.plot(people, [pc['latency_ms'][n] for n in people], 'o-', label=f'{name} (one network)')
    td = result['latency_ms']['topdown']
    ax.plot(
        people, [td[n] for n in people],
        's--',
        color='black',
        label='Faster R-CNN R50-FPN + top-down HRNet-W32 DARK')
    ax.set_xscale('log', base=2)
    ax.set_yscale('log')
    ax.set_xticks(people)
    ax.set_xticklabels([str(n) for n in people])
    ax.set_xlabel('persons in the image (N)')
    ax.set_ylabel('median latency per image (ms)')
    ax.set_title(f'{result["img_hw"][1]}x{result["img_hw"][0]} image, {result["device"]}', fontsize=9)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
