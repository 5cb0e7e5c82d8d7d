"""init_model takes CLASSES and the keypoint meta from the checkpoint: a model of any K is used and
drawn without its dataset."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmcv import Config
from mmdet.models import build_detector

from mmhrkpt.apis import inference_model, init_model, show_inference
from mmhrkpt.datasets.keypoint_meta import keypoint_meta_to_checkpoint, resolve_keypoint_meta

TINY = Path(__file__).resolve().parents[1] / 'data' / 'tiny_krcnn.py'
FIVE = dict(
    keypoint_names=['head', 'left_hand', 'right_hand', 'left_foot', 'right_foot'],
    skeleton=[(0, 1), (0, 2), (0, 3), (0, 4)],
    sigmas=[0.05] * 5)
OPTIONS = {'model.roi_head.keypoint_head.num_keypoints': 5}


def _checkpoint(path, meta):
    cfg = Config.fromfile(str(TINY))
    cfg.merge_from_dict(OPTIONS)
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), path)
    return str(path)


def test_the_checkpoints_keypoint_meta_is_the_models(tmp_path):
    meta = keypoint_meta_to_checkpoint(resolve_keypoint_meta(FIVE), ('person', ))
    model = init_model(str(TINY), _checkpoint(tmp_path / 'five.pth', meta), cfg_options=OPTIONS)
    assert model.CLASSES == ('person', )
    assert list(model.keypoint_meta['keypoint_names']) == FIVE['keypoint_names']
    assert model.keypoint_meta['flip_pairs'] == [(1, 2), (3, 4)]  # derived from left_/right_ names
    model.test_cfg.rcnn.keypoint.flip_test = True  # reads the flip pairs the checkpoint gave
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    result = inference_model(model, image)
    assert result['keypoints'].shape[1:] == (5, 3)

    # the drawing uses the model's own skeleton
    fake = dict(
        bboxes=np.array([[10.0, 10.0, 90.0, 80.0]]),
        scores=np.array([0.9]),
        keypoints=np.array([[[50, 20, 1.0], [20, 50, 1.0], [80, 50, 1.0], [30, 75, 1.0], [70, 75, 1.0]]]))
    drawn = show_inference(image, fake, model=model)
    assert np.array_equal(
        drawn, show_inference(image, fake, skeleton=FIVE['skeleton'], keypoint_names=FIVE['keypoint_names']))
    assert not np.array_equal(drawn,
                              show_inference(image, fake, skeleton=[], keypoint_names=FIVE['keypoint_names']))


def test_a_checkpoint_without_meta_needs_the_dataset_info(tmp_path):
    path = _checkpoint(tmp_path / 'bare.pth', {})
    with pytest.raises(ValueError, match='give data.test.dataset_info'):
        init_model(str(TINY), path, cfg_options=OPTIONS)
    options = dict(OPTIONS, **{'data.test.dataset_info': FIVE})
    assert len(init_model(str(TINY), path, cfg_options=options).keypoint_meta['sigmas']) == 5


def test_meta_that_disagrees_with_the_model_is_refused(tmp_path):
    meta = keypoint_meta_to_checkpoint(
        resolve_keypoint_meta(dict(FIVE, keypoint_names=list('abcdef'), skeleton=[], sigmas=[0.1] * 6)),
        ('person', ))
    with pytest.raises(ValueError, match='names 6 keypoints, the model has 5'):
        init_model(str(TINY), _checkpoint(tmp_path / 'six.pth', meta), cfg_options=OPTIONS)
