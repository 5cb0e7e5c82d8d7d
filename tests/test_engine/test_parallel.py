import pytest
import torch
from mmcv.parallel import MMDataParallel

from mmhrkpt.engine import wrap_model


class _Net(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)


def test_cpu_wrapper_is_mmdataparallel_without_devices():
    wrapped = wrap_model(_Net(), 'cpu', distributed=False)
    assert isinstance(wrapped, MMDataParallel) and not wrapped.device_ids


def test_unknown_distributed_device_is_refused():
    with pytest.raises(NotImplementedError, match='cuda or cpu'):
        wrap_model(_Net(), 'mlu', distributed=True)
