"""bfloat16 mixed precision for training on a CPU with native bfloat16 (``cpu_bf16 = True`` in a config).

The network's parts (:data:`BF16_PARTS`: backbone, neck, the RPN's and the RoI heads' layers) run their
``forward`` under ``torch.autocast('cpu', dtype=torch.bfloat16)``, where convolutions and linear layers
compute in bfloat16, and every floating-point output of a part is cast back to float32 as it leaves the
part. What lies between and after the parts therefore runs in float32 as without the switch: RoI pooling
(``SparseRoIAlign``'s sparse products have no bfloat16 kernel), anchor and box decoding, NMS, assignment
and sampling, every loss and its targets (the codec's heatmap encoding), and heatmap decoding. The loss
methods of the heads are not their ``forward``, so they are outside the parts (one autocast region
around the whole forward would not do: mmcv's NMS refuses bfloat16 scores). Weights, gradients and
the optimizer's state stay float32 (autocast casts a weight per operation), and bfloat16 has float32's
exponent range, so no loss scaling is needed (unlike fp16).

Only in training mode: a part in eval mode (evaluation during training, tools/test.py) runs in float32,
so the evaluation during training gives what tools/test.py gives for the same checkpoint.

Where the CPU lacks native bfloat16 (:func:`mmhrkpt.utils.cpu_info.cpu_bf16_support`) oneDNN would
emulate it, slower than float32: :func:`enable_cpu_bf16` then refuses, says why in the log, and training
runs in float32.
"""
import torch

from mmhrkpt.utils.cpu_info import cpu_bf16_support

# Sub-modules of a two-stage detector whose forward runs under autocast (those the model has).
BF16_PARTS = ('backbone', 'neck', 'rpn_head', 'roi_head.bbox_head', 'roi_head.keypoint_head')
_LOW_PRECISION = (torch.bfloat16, torch.float16)


def to_float32(output):
    """``output`` with every bfloat16/float16 tensor in it (nested tuples, lists, dicts) as float32."""
    if isinstance(output, torch.Tensor):
        return output.float() if output.dtype in _LOW_PRECISION else output
    if isinstance(output, (tuple, list)):
        items = [to_float32(o) for o in output]
        return type(output)(items) if not hasattr(output, '_fields') else type(output)(*items)
    if isinstance(output, dict):
        return type(output)((k, to_float32(v)) for k, v in output.items())
    return output


def _unwrap(model):
    """The detector inside mmcv's / torch's data-parallel wrappers."""
    while hasattr(model, 'module') and isinstance(model.module, torch.nn.Module):
        model = model.module
    return model


class CPUBF16Autocast:
    """Forward hooks that run ``parts`` of ``model`` under CPU bfloat16 autocast in training mode.

    Args:
        model (nn.Module): a detector (or a data-parallel wrapper around one).
        parts (tuple[str]): dotted names of sub-modules; those the model lacks are skipped, and at
            least one must exist.

    Attributes:
        parts (list[str]): the parts that were hooked.

    ``remove()`` takes the hooks off again (the model is then exactly as before).
    """

    def __init__(self, model, parts=BF16_PARTS):
        model = _unwrap(model)
        self.parts, self._handles = [], []
        self._active = {}  # id(module) -> stack of entered autocast contexts (None: not entered)
        for name in parts:
            try:
                module = model.get_submodule(name)
            except AttributeError:
                continue
            self._handles.append(module.register_forward_pre_hook(self._enter))
            self._handles.append(module.register_forward_hook(self._leave, always_call=True))
            self.parts.append(name)
        if not self.parts:
            raise ValueError(f'cpu_bf16: {type(model).__name__} has none of the parts {parts}')

    def _enter(self, module, args):
        ctx = None
        if module.training:
            ctx = torch.autocast('cpu', dtype=torch.bfloat16)
            ctx.__enter__()
        self._active.setdefault(id(module), []).append(ctx)

    def _leave(self, module, args, output):
        # always_call=True: also reached when forward raises, so autocast is always left
        ctx = self._active[id(module)].pop()
        if ctx is None:
            return None
        ctx.__exit__(None, None, None)
        return to_float32(output)

    def remove(self):
        for handle in self._handles:
            handle.remove()
        self._handles = []


def enable_cpu_bf16(model, device='cpu', logger=None):
    """Hook ``model`` for bfloat16 autocast (:class:`CPUBF16Autocast`) if ``device`` is a CPU with
    native bfloat16; else leave it in float32 and log a warning saying why.

    Returns:
        CPUBF16Autocast | None: the hooks, or None when refused.
    """

    def warn(msg):
        if logger is not None:
            logger.warning(msg)
        else:
            import warnings
            warnings.warn(msg)

    if torch.device(device).type != 'cpu':
        warn(f'cpu_bf16=True is for CPU training and is ignored on {device} (training in float32; '
             'mixed precision on a GPU: fp16 = dict(loss_scale=512.))')
        return None
    supported, reason = cpu_bf16_support()
    if not supported:
        warn(f'cpu_bf16=True refused, training in float32: {reason}')
        return None
    hooks = CPUBF16Autocast(model)
    if logger is not None:
        logger.info(f'cpu_bf16: bfloat16 autocast in training for {", ".join(hooks.parts)} ({reason}); '
                    'RoI pooling, losses, targets and decoding stay float32')
    return hooks
