"""torchvision's keypointrcnn_resnet50_fpn converted by tools/model_converters/torchvision2mmhrkpt.py
computes torchvision's detections: seeded random weights and frozen-BN statistics, one synthetic image
that neither pipeline resizes, the project's ``init_model`` + ``inference_model`` on the converted
checkpoint against torchvision's model on the same input tensor.

The image is 480 x 736 with both pipelines' short side set to 480 (torchvision's ``min_size``, the
config's test ``img_scale``), a third of the work of 800 x 1216 and the same code paths: 480 and 736 are
not multiples of 64, so the pooled FPN level has torchvision's odd anchor strides (480 // 8 = 60,
736 // 12 = 61) as an 800-pixel side has (800 // 13 = 61). ``MMHRKPT_EXACTNESS_SIZE=800x1216`` runs
the same comparison at the shipped config's own scale (about three times longer).
"""
import os

import numpy as np
import pytest
import torch
from torchvision_krcnn import (TORCHVISION_CONFIG, calibrate_person_scores, frozen_bn_keypoint_rcnn,
                               load_converter)

from mmhrkpt.apis import inference_model, init_model
from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES, COCO_SKELETON, PIXEL_CENTER_OFFSET
from mmhrkpt.testing.synthetic import synthesize_image

# (H, W), neither pipeline resizes it (below)
IMAGE_SIZE = tuple(int(v) for v in os.environ.get('MMHRKPT_EXACTNESS_SIZE', '480x736').split('x'))


@pytest.fixture(scope='module')
def converter():
    return load_converter()


@pytest.fixture(scope='module')
def compared(tmp_path_factory, converter):
    """Both models' detections of one image, and what went into them."""
    tmp = tmp_path_factory.mktemp('tv2mm')
    image, _ = synthesize_image(np.random.default_rng(0), image_size=IMAGE_SIZE, max_persons=4)
    torchvision_model = frozen_bn_keypoint_rcnn(seed=0)
    rgb = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1).float() / 255
    torchvision_model.transform.min_size = (IMAGE_SIZE[0], )
    calibrate_person_scores(torchvision_model, rgb, num_passing=30)
    torch.save(torchvision_model.state_dict(), tmp / 'torchvision.pth')
    converter.convert(str(tmp / 'torchvision.pth'), str(tmp / 'mmhrkpt.pth'), str(TORCHVISION_CONFIG))

    short_side = {'data.test.pipeline.1.img_scale': (1333, IMAGE_SIZE[0])}
    model = init_model(str(TORCHVISION_CONFIG), str(tmp / 'mmhrkpt.pth'), cfg_options=short_side)
    inputs = []
    hook = model.backbone.register_forward_pre_hook(lambda module, args: inputs.append(args[0]))
    result = inference_model(model, image)
    hook.remove()
    (network_input, ) = inputs
    # torchvision gets the very tensor the project's pipeline made (normalisation is compared below)
    torchvision_model.transform.image_mean = [0.0, 0.0, 0.0]
    torchvision_model.transform.image_std = [1.0, 1.0, 1.0]
    with torch.no_grad():
        expected = torchvision_model([network_input[0]])[0]
    return dict(image=image, rgb=rgb, input=network_input, result=result, expected=expected, model=model)


def test_the_test_pipeline_normalises_as_torchvision(compared):
    assert tuple(compared['input'].shape[-2:]) == IMAGE_SIZE  # no resize, no padding
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    difference = (compared['input'][0] - (compared['rgb'] - mean) / std).abs().max().item()
    print(f'\nnormalisation: largest difference {difference:.3g}')
    assert difference <= 1e-5


def test_same_detections_boxes_scores_and_keypoints(compared):
    result, expected = compared['result'], compared['expected']
    num = len(expected['boxes'])
    assert 8 <= num < 100, num  # some proposals pass the 0.05 threshold, not all
    assert len(result['bboxes']) == num
    box_diff = np.abs(result['bboxes'] - expected['boxes'].numpy()).max()
    score_diff = np.abs(result['scores'] - expected['scores'].numpy()).max()
    # the project's keypoints are continuous (pixel centres at +0.5), torchvision's COCO pixel indices
    keypoint_diff = np.abs(result['keypoints'][..., :2] - PIXEL_CENTER_OFFSET -
                           expected['keypoints'][..., :2].numpy()).max()
    keypoint_score_diff = np.abs(result['keypoints'][..., 2] - expected['keypoints_scores'].numpy()).max()
    print(f'\n{num} detections; largest differences: boxes {box_diff:.3g} px, scores {score_diff:.3g}, '
          f'keypoints {keypoint_diff:.3g} px, keypoint scores {keypoint_score_diff:.3g}')
    assert box_diff <= 0.01
    assert score_diff <= 1e-4
    assert keypoint_score_diff <= 1e-4
    # the codec adds the 0.5 to torchvision's own numbers (removing it again may round in the last
    # bit; another argmax cell would move a keypoint by a whole resized pixel, at least half a pixel)
    assert np.array_equal(result['keypoints'][..., :2],
                          expected['keypoints'][..., :2].numpy() + np.float32(PIXEL_CENTER_OFFSET))
    assert keypoint_diff <= 1e-3
    assert np.all(result['labels'] == 0)


def test_checkpoint_meta_gives_the_model_its_keypoints(compared):
    meta = compared['model'].keypoint_meta
    assert tuple(meta['keypoint_names']) == COCO_KEYPOINT_NAMES
    assert [tuple(edge) for edge in meta['skeleton']] == list(COCO_SKELETON)
    assert (5, 6) in [tuple(pair) for pair in meta['flip_pairs']]
    assert compared['model'].CLASSES == ('person', )


def _torchvision_state_dict():
    from torchvision.models.detection import keypointrcnn_resnet50_fpn
    return keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None).state_dict()


@pytest.fixture(scope='module')
def state_dict():
    torch.manual_seed(0)
    return _torchvision_state_dict()


def test_every_tensor_maps_to_one_model_tensor(converter, state_dict):
    converted, dropped = converter.convert_state_dict(state_dict)
    _, model = converter.build_target_model(str(TORCHVISION_CONFIG))
    converter.check_against_model(converted, model.state_dict())
    assert len(converted) + len(dropped) == len(state_dict)
    assert all(key.endswith('num_batches_tracked') for key in dropped)
    # torchvision's classes are (background, person), mmdet's (person, background)
    src = state_dict['roi_heads.box_predictor.cls_score.weight']
    assert torch.equal(converted['roi_head.bbox_head.fc_cls.weight'], src[[1, 0]])
    src = state_dict['roi_heads.box_predictor.bbox_pred.bias']
    assert torch.equal(converted['roi_head.bbox_head.fc_reg.bias'], src[4:])
    assert torch.equal(converted['roi_head.keypoint_head.convs.7.conv.weight'],
                       state_dict['roi_heads.keypoint_head.14.weight'])


def test_older_torchvision_key_names_are_accepted(converter, state_dict):
    old = dict(state_dict)
    for new_key, old_key in (('rpn.head.conv.0.0.weight', 'rpn.head.conv.weight'),
                             ('backbone.fpn.inner_blocks.2.0.bias', 'backbone.fpn.inner_blocks.2.bias')):
        old[old_key] = old.pop(new_key)
    converted, _ = converter.convert_state_dict(old)
    assert set(converted) == set(converter.convert_state_dict(state_dict)[0])


def test_unknown_missing_and_misshapen_tensors_are_refused(converter, state_dict):
    extra = dict(state_dict, **{'roi_heads.mask_head.0.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match=r'no rule for roi_heads\.mask_head\.0\.weight'):
        converter.convert_state_dict(extra)
    _, model = converter.build_target_model(str(TORCHVISION_CONFIG))
    converted, _ = converter.convert_state_dict(state_dict)
    del converted['rpn_head.rpn_cls.bias']
    with pytest.raises(ValueError, match=r'model tensors with no source: rpn_head\.rpn_cls\.bias'):
        converter.check_against_model(converted, model.state_dict())
    converted, _ = converter.convert_state_dict(state_dict)
    converted['neck.fpn_convs.0.conv.bias'] = torch.zeros(3)
    with pytest.raises(ValueError, match=r'shapes differ: neck\.fpn_convs\.0\.conv\.bias \(3,\)'):
        converter.check_against_model(converted, model.state_dict())


def test_a_file_without_a_state_dict_is_refused(converter, tmp_path):
    torch.save({'epoch': 3}, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match='holds no state dict'):
        converter.load_torchvision_state_dict(str(tmp_path / 'bad.pth'))
