"""Training infrastructure: atomic runners, RNG state, checkpoint files, data-parallel wrappers,
distributed start-up and what the ranks and data loader workers share."""
from .checkpoint import find_latest_checkpoint, is_complete_checkpoint, load_checkpoint_excluding
from .cpu_bf16 import BF16_PARTS, CPUBF16Autocast, enable_cpu_bf16
from .dist import LAUNCHERS, init_distributed, setup_runtime_cfg, shared_tmpdir, slurm_environment
from .parallel import MMDistributedDataParallelCompat, wrap_model
from .rng import get_rng_state, set_rng_state
from .runner import AtomicEpochBasedRunner, AtomicIterBasedRunner
from .shared_files import SharedFileSet, share_skipped_files

__all__ = [
    'find_latest_checkpoint', 'is_complete_checkpoint', 'load_checkpoint_excluding', 'LAUNCHERS',
    'init_distributed', 'slurm_environment', 'setup_runtime_cfg', 'shared_tmpdir',
    'MMDistributedDataParallelCompat', 'wrap_model', 'get_rng_state', 'set_rng_state',
    'AtomicEpochBasedRunner', 'AtomicIterBasedRunner', 'SharedFileSet', 'share_skipped_files', 'BF16_PARTS',
    'CPUBF16Autocast', 'enable_cpu_bf16'
]
