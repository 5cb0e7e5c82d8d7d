"""Import mmhrkpt before anything imports mmpose (its import-time mmcv assert, see
mmhrkpt/utils/mmpose_compat.py), and keep torch to the machine's cores."""
import os

import torch

import mmhrkpt  # noqa: F401

torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
