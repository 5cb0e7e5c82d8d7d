"""Data-parallel wrappers for training and testing: one place that picks the wrapper, and a
DistributedDataParallel wrapper for mmcv models that works on CPU (gloo) and with torch 2.x.

mmcv 1.7.2's ``MMDistributedDataParallel`` has two gaps here:

- without ``device_ids`` (CPU) its ``train_step`` / ``val_step`` hand the batch to the model
  unscattered, DataContainers included, which the detector cannot read;
- its ``_run_ddp_forward`` (what ``model(...)`` runs, e.g. in the distributed test loop) reads
  ``self._use_replicated_tensor_module``, which torch >= 2.1 no longer has: an AttributeError,
  on GPUs too.

:class:`MMDistributedDataParallelCompat` scatters the inputs as ``MMDataParallel`` does (to the
device, or on CPU just unwrapping the DataContainers) and runs ``train_step`` / ``val_step`` /
``forward`` between torch's own ``_pre_forward`` and ``_post_forward``, so the reducer (gradient
all-reduce, unused-parameter search, buffer sync) sees exactly what it sees in a plain
``DistributedDataParallel.forward``.
"""
import os

from mmcv.parallel import MODULE_WRAPPERS, MMDataParallel, MMDistributedDataParallel
from mmdet.utils import build_dp


@MODULE_WRAPPERS.register_module()
class MMDistributedDataParallelCompat(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU (``device_ids=None``) and GPU (one device per
    process, ``device_ids=[local_rank]``)."""

    def _scatter_one(self, inputs, kwargs):
        """The inputs for this process's device (``[-1]``: CPU, DataContainers unwrapped)."""
        inputs, kwargs = self.scatter(inputs, kwargs, self.device_ids or [-1])
        return inputs[0], kwargs[0]

    def _ddp_call(self, method, inputs, kwargs):
        inputs, kwargs = self._scatter_one(inputs, kwargs)
        inputs, kwargs = self._pre_forward(*inputs, **kwargs)
        with self._inside_ddp_forward():
            output = getattr(self.module, method)(*inputs, **kwargs)
        return self._post_forward(output)

    def train_step(self, *inputs, **kwargs):
        """``module.train_step`` with the gradient synchronisation of a DDP forward."""
        return self._ddp_call('train_step', inputs, kwargs)

    def val_step(self, *inputs, **kwargs):
        """``module.val_step`` as DDP runs a forward."""
        return self._ddp_call('val_step', inputs, kwargs)

    def _run_ddp_forward(self, *inputs, **kwargs):
        # torch's forward calls this between _pre_forward and _post_forward
        inputs, kwargs = self._scatter_one(inputs, kwargs)
        with self._inside_ddp_forward():
            return self.module(*inputs, **kwargs)


def wrap_model(model, device, distributed, gpu_ids=(0, ), find_unused_parameters=False):
    """The data-parallel wrapper of ``model`` for ``device`` ('cpu' or 'cuda'), used by training and
    testing alike.

    Distributed: :class:`MMDistributedDataParallelCompat` on this process's GPU (``LOCAL_RANK``) or on
    CPU (gloo), ``broadcast_buffers=False`` as mmdet's; mmdet's ``build_ddp`` refuses CPU. Otherwise
    ``MMDataParallel``, on CPU without devices.
    """
    if distributed:
        ddp_args = dict(broadcast_buffers=False, find_unused_parameters=find_unused_parameters)
        if device == 'cpu':
            return MMDistributedDataParallelCompat(model.cpu(), **ddp_args)
        if device != 'cuda':
            raise NotImplementedError(f'distributed training on {device!r}: cuda or cpu only')
        local_rank = int(os.environ.get('LOCAL_RANK', 0))
        return MMDistributedDataParallelCompat(model.cuda(local_rank), device_ids=[local_rank], **ddp_args)
    if device == 'cpu':
        return MMDataParallel(model.cpu())
    return build_dp(model, device, device_ids=list(gpu_ids))
