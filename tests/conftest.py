"""Register mmhrkpt's modules, put the shared test helpers (tests/helpers) on the path, and keep torch
to the machine's cores."""
import os
import sys

import torch

import mmhrkpt  # noqa: F401  (registration)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'helpers'))
torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
