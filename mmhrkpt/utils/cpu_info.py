"""What the CPU offers: its model name and whether it computes bfloat16 natively.

Read from ``/proc/cpuinfo`` (Linux) where it exists, else asked of torch. Native bfloat16 means the
instructions oneDNN uses for bfloat16 convolutions and matrix products: AVX512-BF16 (Intel Cooper
Lake and later Xeons, AMD Zen 4 and later) or AMX-BF16 (Intel Sapphire Rapids and later). Without
them oneDNN emulates bfloat16, which is slower than float32 and no more accurate.
"""
import functools
import platform

import torch

CPUINFO = '/proc/cpuinfo'
BF16_FLAGS = ('avx512_bf16', 'amx_bf16')


@functools.lru_cache(maxsize=None)
def _cpuinfo_fields(path=CPUINFO):
    """``{'model name': ..., 'flags': ...}`` of the first processor listed in ``path`` ({} if
    unreadable)."""
    fields = {}
    try:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    if fields:
                        break  # the first processor's block only
                    continue
                key, _, value = line.partition(':')
                fields[key.strip()] = value.strip()
    except OSError:
        return {}
    return fields


def cpu_model_name(path=CPUINFO):
    """The CPU's name as ``/proc/cpuinfo`` gives it (``model name``), else ``platform.processor()``,
    else ``'unknown CPU'``."""
    return _cpuinfo_fields(path).get('model name') or platform.processor() or 'unknown CPU'


def cpu_flags(path=CPUINFO):
    """The instruction-set flags of ``/proc/cpuinfo`` (a set of str; empty where there is none)."""
    return set(_cpuinfo_fields(path).get('flags', '').split())


def cpu_bf16_support(path=CPUINFO):
    """Whether torch can run bfloat16 natively on this CPU.

    Returns:
        tuple[bool, str]: the answer and why (the flags found, or what is missing), for a log line.
    """
    if not torch.backends.mkldnn.is_available():
        return False, 'this torch build has no oneDNN (torch.backends.mkldnn.is_available() is False)'
    flags = cpu_flags(path)
    if flags:
        native = [flag for flag in BF16_FLAGS if flag in flags]
        if native:
            return True, f'{cpu_model_name(path)} has {" and ".join(native)}'
        return False, (f'{cpu_model_name(path)} has neither {" nor ".join(BF16_FLAGS)} among its '
                       f'{path} flags (bfloat16 would be emulated, slower than float32)')
    # no /proc/cpuinfo (not Linux): ask torch's own CPU probe
    probe = getattr(torch.cpu, '_is_avx512_bf16_supported', None)
    if probe is not None and probe():
        return True, f'{cpu_model_name(path)} has AVX512-BF16 (torch.cpu)'
    return False, f'no native bfloat16 found for {cpu_model_name(path)} (no {path}, torch.cpu says no)'
