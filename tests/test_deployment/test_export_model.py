"""KeypointRCNNExport in PyTorch: the detector's own test path, row for row, and the checks that refuse
what the export would not reproduce."""
import numpy as np
import pytest
import torch
from mmcv import Config
from mmdet.models import build_detector

from mmhrkpt.deployment import KeypointRCNNExport, pytorch_outputs
from mmhrkpt.deployment.onnx_export import check_opset

TINY = 'tests/data/tiny_krcnn.py'


def tiny_model(**options):
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict(options)
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('img_shape', [(120, 90), None])
def test_forward_is_simple_test(img_shape):
    model = tiny_model()
    img = torch.randn(1, 3, 128, 96, generator=torch.Generator().manual_seed(1))
    expected = pytorch_outputs(model, img, img_shape)
    with torch.no_grad():
        dets, labels, keypoints = KeypointRCNNExport(model)(img, torch.tensor(img_shape or (0, 0)))
    assert len(expected['dets']) > 0
    np.testing.assert_allclose(dets.numpy(), expected['dets'], rtol=0, atol=1e-4)
    np.testing.assert_array_equal(labels.numpy(), expected['labels'])
    # the same keypoint RoIs (up to RoIAlign's kernels: sparse products vs torchvision's loop)
    np.testing.assert_allclose(keypoints[..., 2].numpy(), expected['keypoints'][..., 2], atol=1e-5)


def test_refuses_what_it_cannot_reproduce():
    with pytest.raises(ValueError, match='flip pairs'):
        KeypointRCNNExport(tiny_model(**{'model.test_cfg.rcnn.keypoint.flip_test': True}))
    with pytest.raises(ValueError, match='soft_nms'):
        KeypointRCNNExport(tiny_model(**{'model.test_cfg.rcnn.nms.type': 'soft_nms'}))
    with pytest.raises(ValueError, match='opset >= 16'):
        check_opset(tiny_model(), 13)
    with pytest.raises(ValueError, match='one image'):
        KeypointRCNNExport(tiny_model())(torch.zeros(2, 3, 64, 64), torch.zeros(2, dtype=torch.long))
