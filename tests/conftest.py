"""Register mmhrkpt's modules, put the shared test helpers (tests/helpers) on the path, keep torch
to the machine's cores, and skip the tests marked ``cuda`` where no GPU is visible."""
import os
import sys

import pytest
import torch

import mmhrkpt  # noqa: F401  (registration)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'helpers'))
torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'cuda: needs an NVIDIA GPU; skipped without one (tools/misc/gpu_check.sh runs '
        'them: pytest -m cuda)')


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='no CUDA GPU visible')
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(skip)
