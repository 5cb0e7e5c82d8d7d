"""FrozenBN: torchvision's FrozenBatchNorm2d under mmcv's norm registry."""
import torch
from mmcv.cnn import build_norm_layer
from mmdet.models.backbones import ResNet
from torchvision.ops import FrozenBatchNorm2d


def _random_state(channels, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(
        weight=torch.rand(channels, generator=g) + 0.5,
        bias=torch.randn(channels, generator=g),
        running_mean=torch.randn(channels, generator=g),
        running_var=torch.rand(channels, generator=g) + 0.1)


def test_built_by_mmcv_it_computes_torchvisions_frozen_batch_norm():
    name, layer = build_norm_layer(dict(type='FrozenBN', requires_grad=False), 8, postfix=1)
    assert name == 'bn1' and not list(layer.parameters())
    reference = FrozenBatchNorm2d(8)
    state = _random_state(8)
    layer.load_state_dict(state)
    reference.load_state_dict(state)
    x = torch.randn(2, 8, 5, 7)
    assert torch.equal(layer(x), reference(x))
    batch_norm = torch.nn.BatchNorm2d(8).eval()
    batch_norm.load_state_dict(dict(state, num_batches_tracked=torch.tensor(5)))
    torch.testing.assert_close(layer(x), batch_norm(x), rtol=1e-5, atol=1e-5)  # same maths


def test_resnet_with_frozen_bn_loads_a_batch_norm_state_dict():
    frozen = ResNet(depth=18, norm_cfg=dict(type='FrozenBN', requires_grad=False), norm_eval=True)
    plain = ResNet(depth=18)
    assert not [key for key in frozen.state_dict() if 'num_batches_tracked' in key]
    frozen.load_state_dict(plain.state_dict(), strict=True)  # num_batches_tracked dropped, as torchvision
    assert frozen.layer1[0].bn1.__class__.__name__ == 'FrozenBN'
