"""The random state of a training run, saved into checkpoints and restored on resume.

python ``random``, numpy's global generator and torch (CPU and every CUDA device), as plain strings and
numbers, so that checkpoints load with ``torch.load(weights_only=True)`` and mmcv's JSON log can dump
the runner's meta.
"""
import random

import numpy as np
import torch


def _to_hex(array, dtype):
    return np.ascontiguousarray(array, dtype=dtype).tobytes().hex()


def _from_hex(text, dtype):
    return np.frombuffer(bytes.fromhex(text), dtype=dtype).copy()


def _torch_state_hex(state):
    return _to_hex(state.numpy(), np.uint8)


def _torch_state(text):
    return torch.from_numpy(_from_hex(text, np.uint8))


def get_rng_state():
    """The state of python ``random``, numpy's global generator and torch (CPU, CUDA).

    Plain strings and numbers (the generators' words as little-endian hex), so that it goes
    through ``torch.load(weights_only=True)`` (how mmcv loads checkpoints with torch >= 2.6) and
    through mmcv's JSON log, which dumps the runner's meta.

    Returns:
        dict: ``python``, ``numpy``, ``torch``, ``cuda`` (a list, one state per device).
    """
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return dict(
        python=dict(version=version, internal=_to_hex(internal, '<u4'), gauss=gauss),
        numpy=dict(
            bit_generator=np_state['bit_generator'],
            key=_to_hex(np_state['state']['key'], '<u4'),
            pos=int(np_state['state']['pos']),
            has_gauss=int(np_state['has_gauss']),
            gauss=float(np_state['gauss'])),
        torch=_torch_state_hex(torch.get_rng_state()),
        cuda=[_torch_state_hex(state) for state in cuda])


def set_rng_state(state):
    """Restore a state from :func:`get_rng_state` (CUDA states only when there are as many
    devices as when it was saved)."""
    py = state['python']
    internal = tuple(int(v) for v in _from_hex(py['internal'], '<u4'))
    random.setstate((py['version'], internal, py['gauss']))
    npy = state['numpy']
    np.random.set_state(
        dict(
            bit_generator=npy['bit_generator'],
            state=dict(key=_from_hex(npy['key'], '<u4').astype(np.uint32), pos=npy['pos']),
            has_gauss=npy['has_gauss'],
            gauss=npy['gauss']))
    torch.set_rng_state(_torch_state(state['torch']))
    cuda = state.get('cuda') or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([_torch_state(s) for s in cuda])
