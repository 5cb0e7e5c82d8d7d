"""torchvision's frozen batch norm as an mmcv norm layer (``norm_cfg=dict(type='FrozenBN')``).

Shape legend: B images, C channels, (H, W) the feature map.

torchvision's detection models built on pre-trained backbones replace every ``BatchNorm2d`` by
``FrozenBatchNorm2d``: fixed statistics and affine parameters, all buffers (nothing to train), and the
normalisation computed as ``x * scale + shift`` with ``scale = weight * rsqrt(running_var + eps)`` and
``shift = bias - running_mean * scale``, eps = 1e-5. mmcv's ``BN`` with ``requires_grad=False`` and
``norm_eval=True`` is the same function written another way (``F.batch_norm``): equal up to float
rounding, which is enough to move an argmax or an NMS decision. This layer is torchvision's class itself,
so a model converted from torchvision computes what torchvision computes.
"""
from mmcv.cnn import NORM_LAYERS
from torchvision.ops import FrozenBatchNorm2d


@NORM_LAYERS.register_module('FrozenBN')
class FrozenBN(FrozenBatchNorm2d):
    """``torchvision.ops.FrozenBatchNorm2d`` under the name mmcv's ``build_norm_layer`` looks up.

    Tensor[B, C, H, W] in and out. Its state is ``weight``, ``bias``, ``running_mean`` and
    ``running_var`` (buffers, no ``num_batches_tracked``: torchvision's class drops that counter when
    loading a ``BatchNorm2d`` state dict). mmcv names the layers of a ResNet ``bn1``, ``bn2``, ... as
    for ``BN`` (``_abbr_``).

    Args:
        num_features (int): C.
        eps (float): added to the variance (mmcv passes its default, 1e-5, torchvision's).
    """

    _abbr_ = 'bn'

    def __init__(self, num_features, eps=1e-5):
        super().__init__(num_features, eps=eps)
