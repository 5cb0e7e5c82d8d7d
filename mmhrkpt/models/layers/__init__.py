"""Layers mmcv lacks, registered in its registries."""
from .frozen_batch_norm import FrozenBN

__all__ = ['FrozenBN']
