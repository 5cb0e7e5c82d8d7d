"""Distributed start-up on GPUs (NCCL) and CPUs (gloo), on one machine or several, and what the ranks
share.

mmcv's ``init_dist`` and mmdet's ``build_ddp`` assume GPUs; this is the CPU-capable path. Two
launchers: ``pytorch`` (torchrun, which sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
MASTER_PORT; tools/dist_train.sh) and ``slurm`` (``srun``, whose SLURM_* variables are turned into
those, as mmcv's ``_init_dist_slurm`` does; tools/slurm_train.sh).
"""
import os
import os.path as osp
import subprocess
import tempfile

import torch
import torch.distributed as dist
from mmcv.runner import get_dist_info

LAUNCHERS = ('none', 'pytorch', 'slurm')
DEFAULT_MASTER_PORT = 29500  # torch.distributed's default


def _first_host(node_list):
    """The first host name of a SLURM node list (``node[1-4]`` and the like), as scontrol expands it."""
    try:
        out = subprocess.run(['scontrol', 'show', 'hostnames', node_list],
                             capture_output=True,
                             text=True,
                             check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as err:
        raise RuntimeError(f'--launcher slurm: cannot expand SLURM_NODELIST={node_list!r} with '
                           f'scontrol ({err}); set MASTER_ADDR to the first node instead') from None
    if not out:
        raise RuntimeError(f'--launcher slurm: scontrol gives no host for {node_list!r}')
    return out[0]


def slurm_environment(environ=None, num_gpus=None, port=None):
    """The torch.distributed variables of one SLURM task.

    RANK = SLURM_PROCID, WORLD_SIZE = SLURM_NTASKS, LOCAL_RANK = SLURM_LOCALID (else the rank modulo
    the GPUs of the node, as mmcv), MASTER_ADDR = the environment's or the first node of
    SLURM_NODELIST, MASTER_PORT = ``port``, the environment's or 29500.

    Args:
        environ (dict, optional): the environment (default ``os.environ``).
        num_gpus (int, optional): GPUs of this node (default: ``torch.cuda.device_count()``).
        port (int, optional): the master port.

    Returns:
        dict[str, str]: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
    """
    environ = os.environ if environ is None else environ
    missing = [k for k in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST') if k not in environ]
    if missing:
        raise RuntimeError(f'--launcher slurm needs {missing} in the environment: start the job '
                           'with srun (tools/slurm_train.sh)')
    rank = int(environ['SLURM_PROCID'])
    num_gpus = torch.cuda.device_count() if num_gpus is None else num_gpus
    if 'SLURM_LOCALID' in environ:
        local_rank = int(environ['SLURM_LOCALID'])
    else:
        local_rank = rank % num_gpus if num_gpus else 0
    return dict(
        RANK=str(rank),
        WORLD_SIZE=str(int(environ['SLURM_NTASKS'])),
        LOCAL_RANK=str(local_rank),
        MASTER_ADDR=environ.get('MASTER_ADDR') or _first_host(environ['SLURM_NODELIST']),
        MASTER_PORT=str(port or environ.get('MASTER_PORT') or DEFAULT_MASTER_PORT))


def init_distributed(launcher, port=None):
    """Start torch.distributed for ``--launcher pytorch`` (torchrun) or ``slurm`` (srun): NCCL on
    GPUs, gloo on CPU.

    Args:
        launcher (str): 'none', 'pytorch' or 'slurm'.
        port (int, optional): slurm only: the master port (else MASTER_PORT or 29500).

    Returns:
        bool: whether the run is distributed.
    """
    if launcher == 'none':
        return False
    if launcher not in LAUNCHERS:
        raise NotImplementedError(f'launcher {launcher!r}: one of {list(LAUNCHERS)}')
    if launcher == 'slurm':
        os.environ.update(slurm_environment(port=port))
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
    does on CPU too). On several machines it must be on a file system they share."""
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
        cfg.dist_params = dict(cfg.get('dist_params', {}), backend='nccl' if cfg.device == 'cuda' else 'gloo')
    else:
        cfg.gpu_ids = [0]
    return cfg
