"""What tools/train.py and tools/test.py share: config set-up and process-group start."""
import os
import os.path as osp

import torch
import torch.distributed as dist
from mmcv.runner import get_dist_info


def init_distributed(launcher):
    """Start torch.distributed for ``--launcher pytorch`` (torchrun): NCCL on GPUs, gloo on CPU.

    mmcv's ``init_dist`` assumes GPUs; this is the CPU-capable path.

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


def setup_cfg(cfg, args, distributed):
    """Fill in the runtime keys of ``cfg`` from the command line (work_dir, device, gpu_ids)."""
    if getattr(args, 'work_dir', None):
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if distributed:
        _, world_size = get_dist_info()
        cfg.gpu_ids = range(world_size)
        cfg.dist_params = dict(cfg.get('dist_params', {}),
                               backend='nccl' if cfg.device == 'cuda' else 'gloo')
    else:
        cfg.gpu_ids = [0]
    return cfg
