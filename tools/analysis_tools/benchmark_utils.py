"""Measuring and reporting for the benchmark: machine description, JSON output, plain-text tables,
timing (calls, nested regions, top operators) and peak memory.

Shared by every subcommand of ``tools/analysis_tools/benchmark.py``; nothing here knows about models
or codecs beyond the two facts their synthetic inputs share.
"""
import ctypes
import gc
import json
import math
import os
import platform
import time
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone

import numpy as np
import torch

from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES
from mmhrkpt.utils import cpu_bf16_support, import_mmpose

# The synthetic inputs of every subcommand: COCO's keypoints, labelled with visibility v = 2, 1, 0 with
# these probabilities.
NUM_KEYPOINTS = len(COCO_KEYPOINT_NAMES)
VISIBILITY_PROBS = (0.8, 0.1, 0.1)


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
    lines = [
        '  '.join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells
    ]
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


# ----------------------------------------------------------------------------- timing
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


def percentile(values, q):
    """The ``q``-th percentile of ``values`` as a float, None when there are none."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else None


def profile_top_ops(fn, device, limit):
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
    return [OrderedDict(name=e.key, self_ms=getattr(e, key, 0) / 1e3, calls=e.count) for e in events[:limit]]


class NullTimer:
    """A :class:`RegionTimer` that times nothing, for code paths that take an optional timer."""

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


# ----------------------------------------------------------------------------- memory
def _read_status_kb(key):
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def release_memory():
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
        release_memory()
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
        return OrderedDict(
            kind=kind, peak_mb=peak, start_mb=self.start_mb, increase_mb=increase, peak_reset=self.reset)


# ----------------------------------------------------------------------------- bfloat16 on CPU
CPU_BF16_MODES = ('off', 'on', 'ab')


def cpu_bf16_mode(mode, device, notes):
    """``mode`` ('off' | 'on' | 'ab') where bfloat16 autocast can run, else 'off' with a note why."""
    if mode not in CPU_BF16_MODES:
        raise ValueError(f'cpu_bf16 must be one of {CPU_BF16_MODES}, got {mode!r}')
    if mode == 'off':
        return mode
    if torch.device(device).type != 'cpu':
        notes.append(f'--cpu-bf16 is for CPU training: ignored on {device}, measured in float32')
        return 'off'
    supported, reason = cpu_bf16_support()
    if not supported:
        notes.append(f'--cpu-bf16 refused, measured in float32: {reason}')
        return 'off'
    return mode
