"""Distributed start-up on GPUs (NCCL) and CPUs (gloo), and what the ranks share.

mmcv's ``init_dist`` and mmdet's ``build_ddp`` assume GPUs; this is the CPU-capable path.
"""
import os
import os.path as osp
import tempfile

import torch
import torch.distributed as dist
from mmcv.runner import get_dist_info


def init_distributed(launcher):
    """Start torch.distributed for ``--launcher pytorch`` (torchrun): NCCL on GPUs, gloo on CPU.

    Returns:
        bool: whether the run is distributed.
    """
    if launcher == 'none':
        return False
    if launcher != 'pytorch':
        raise NotImplementedError(f'launcher {launcher!r}: only "none" and "pytorch" (torchrun)')
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
        backend = 'nccl'
    else:
        backend = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return True


def shared_tmpdir(prefix='mmhrkpt_dist_'):
    """A temporary folder made by rank 0 and known to every rank (an object broadcast, which gloo
    does on CPU too; one machine)."""
    path = [tempfile.mkdtemp(prefix=prefix) if get_dist_info()[0] == 0 else None]
    if dist.is_available() and dist.is_initialized():
        dist.broadcast_object_list(path, src=0)
    return path[0]


def setup_runtime_cfg(cfg, config_path, work_dir=None, distributed=False):
    """Fill in the runtime keys of ``cfg``: ``work_dir`` (given, the config's, or
    ``./work_dirs/<config name>``), ``device`` (cuda when visible, else cpu), ``gpu_ids`` and, when
    distributed, the process-group backend of ``dist_params``."""
    if work_dir:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    cfg.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if distributed:
        _, world_size = get_dist_info()
        cfg.gpu_ids = range(world_size)
        cfg.dist_params = dict(cfg.get('dist_params', {}),
                               backend='nccl' if cfg.device == 'cuda' else 'gloo')
    else:
        cfg.gpu_ids = [0]
    return cfg
