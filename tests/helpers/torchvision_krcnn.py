"""torchvision's Keypoint R-CNN with seeded random weights, and the converter script, for the tests of
the torchvision conversion (no download: nothing here is pre-trained)."""
import importlib.util
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
CONVERTER = ROOT / 'tools' / 'model_converters' / 'torchvision2mmhrkpt.py'
TORCHVISION_CONFIG = ROOT / 'configs' / 'krcnn_r50' / 'krcnn_r50_fpn_onehot_torchvision_coco.py'


def load_converter():
    """tools/model_converters/torchvision2mmhrkpt.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location('torchvision2mmhrkpt', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frozen_bn_keypoint_rcnn(seed=0):
    """``keypointrcnn_resnet50_fpn`` as torchvision builds it for its published weights (frozen batch
    norm, 3 trainable backbone stages), with seeded random weights and random frozen-BN statistics
    (means N(0, 0.1), variances U(0.5, 1.5), scales U(0.5, 1), shifts N(0, 0.1)); eval mode."""
    from torchvision.models import resnet50
    from torchvision.models.detection import KeypointRCNN
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops import FrozenBatchNorm2d
    torch.manual_seed(seed)
    backbone = _resnet_fpn_extractor(resnet50(norm_layer=FrozenBatchNorm2d), 3)
    model = KeypointRCNN(backbone, num_classes=2, num_keypoints=17)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, FrozenBatchNorm2d):
                n = module.weight.numel()
                module.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                module.weight.copy_(torch.rand(n, generator=g) * 0.5 + 0.5)
                module.bias.copy_(torch.randn(n, generator=g) * 0.1)
    return model.eval()


def calibrate_person_scores(model, image, num_passing=80, spread=5.0):
    """Rescale the person-vs-background logit of ``model``'s box classifier so that its ``num_passing``
    best proposals of ``image`` score above 0.05 (torchvision's threshold) and the scores spread.

    Random weights score every proposal about alike (all above or all below the threshold); the
    exactness test needs some detections, not all, with distinct scores.

    Args:
        model: from :func:`frozen_bn_keypoint_rcnn`.
        image (Tensor[3, H, W]): the input as the model's transform gets it.
    """
    heads = model.roi_heads
    with torch.no_grad():
        images, _ = model.transform([image])
        feats = model.backbone(images.tensors)
        proposals, _ = model.rpn(images, feats)
        box_feats = heads.box_head(heads.box_roi_pool(feats, proposals, images.image_sizes))
        logits, _ = heads.box_predictor(box_feats)
        gap = logits[:, 1] - logits[:, 0]
        scale = spread / gap.std()
        shift = gap.sort(descending=True).values[num_passing - 1] + 2.944 / scale  # logit(0.05)
        cls = heads.box_predictor.cls_score
        cls.weight[1] = cls.weight[0] + scale * (cls.weight[1] - cls.weight[0])
        cls.bias[1] = cls.bias[0] + scale * (cls.bias[1] - cls.bias[0] - shift)
