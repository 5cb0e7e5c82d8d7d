"""ONNXKeypointDetector's preprocessing is mmdet's test pipeline, bit for bit, and the metadata it reads."""
import numpy as np
import pytest
import torch
from mmcv import Config
from mmcv.parallel import collate
from mmdet.datasets.pipelines import Compose

from mmhrkpt.deployment import ONNXKeypointDetector
from mmhrkpt.deployment.meta import preprocessing_meta
from mmhrkpt.deployment.onnx_detector import preprocess, read_metadata

SYNTHETIC = 'configs/synthetic/krcnn_hrnet_w18_synthetic.py'
COCO = 'configs/krcnn_r50/krcnn_r50_fpn_heatmap_1x_coco.py'


def mmdet_pipeline(cfg, img):
    pipeline = cfg.data.test.pipeline.copy()
    pipeline[0] = dict(pipeline[0], type='LoadImageFromWebcam')
    data = collate([Compose(pipeline)(dict(img=img, keypoint_flip_pairs=[]))], samples_per_gpu=1)
    return data['img'][0], data['img_metas'][0].data[0][0]


@pytest.mark.parametrize('config', [SYNTHETIC, COCO])
@pytest.mark.parametrize('size', [(256, 256), (97, 203), (480, 150)])
def test_preprocess_is_the_test_pipeline(config, size):
    cfg = Config.fromfile(config)
    rng = np.random.default_rng(size[0])
    img = rng.integers(0, 256, size=size + (3, ), dtype=np.uint8)
    expected, img_meta = mmdet_pipeline(cfg, img)
    inputs, img_shape, scale_factor = preprocess(img, preprocessing_meta(cfg))
    np.testing.assert_array_equal(inputs, expected.numpy())
    assert img_shape == img_meta['img_shape'][:2]
    np.testing.assert_array_equal(scale_factor, img_meta['scale_factor'])


def test_preprocess_to_a_fixed_input_size():
    meta = preprocessing_meta(Config.fromfile(SYNTHETIC))
    img = np.full((100, 60, 3), 200, np.uint8)
    inputs, img_shape, scale_factor = preprocess(img, meta, input_size=(288, 320))
    assert inputs.shape == (1, 3, 288, 320) and img_shape == (256, 154)
    assert np.all(inputs[..., 256:, :] == 0) and np.all(inputs[..., 154:] == 0)
    with pytest.raises(ValueError, match='does not fit'):
        preprocess(img, meta, input_size=(224, 224))


def test_metadata_is_read_and_required(tmp_path):
    assert read_metadata({'mean': '[1, 2]', 'producer': 'not json'}) == {'mean': [1, 2]}
    path = str(tmp_path / 'plain.onnx')
    with torch.no_grad():
        torch.onnx.export(
            torch.nn.Identity(), (torch.zeros(1, 3, 8, 8), ), path, input_names=['input'], dynamo=False)
    with pytest.raises(ValueError, match='metadata_props'):
        ONNXKeypointDetector(path)
