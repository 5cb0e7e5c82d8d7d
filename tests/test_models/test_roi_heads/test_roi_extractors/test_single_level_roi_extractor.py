"""SingleLevelRoIExtractor and TVRoIAlign against mmdet's SingleRoIExtractor with mmcv's RoIAlign."""
import pytest
import torch
from mmcv.ops import RoIAlign
from roi_utils import STRIDES, build, feats_for, random_rois

from mmhrkpt.ops import TVRoIAlign


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
@pytest.mark.parametrize('output_size', [7, (32, 24)])
def test_tv_roi_align_equals_mmcv(aligned, sampling_ratio, output_size):
    feat = feats_for(strides=[8])[0].requires_grad_()
    rois = random_rois(40)
    ours = TVRoIAlign(output_size, 1 / 8, sampling_ratio, aligned=aligned)
    ref = RoIAlign(output_size, 1 / 8, sampling_ratio, aligned=aligned)
    out, expected = ours(feat, rois), ref(feat, rois)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    grad_out = torch.randn_like(out)
    g1, = torch.autograd.grad(out, feat, grad_out)
    g2, = torch.autograd.grad(expected, feat, grad_out)
    torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-5)


def test_tv_roi_align_rejects_max_pooling():
    with pytest.raises(ValueError, match="pool_mode='avg'"):
        TVRoIAlign(7, 0.25, pool_mode='max')


@pytest.mark.parametrize('layer', ['RoIAlign', 'TVRoIAlign'])
@pytest.mark.parametrize('training', [True, False])
def test_fast_extractor_equals_mmdet(layer, training):
    rois = random_rois(30, img_size=640)
    feats = feats_for(img_size=640)
    ours, ref = build('SingleLevelRoIExtractor', layer), build('SingleRoIExtractor', 'RoIAlign')
    ours.train(training)
    ref.train(training)
    levels = ref.map_roi_levels(rois, len(STRIDES))
    assert len(levels.unique()) == 4  # every level used
    torch.testing.assert_close(ours(feats, rois), ref(feats, rois), rtol=1e-5, atol=1e-5)
    # with a scale factor, as mmdet's Grid R-CNN uses it
    torch.testing.assert_close(
        ours(feats, rois, roi_scale_factor=1.5), ref(feats, rois, roi_scale_factor=1.5), rtol=1e-5, atol=1e-5)


def test_empty_levels_stay_in_the_graph_in_training():
    """Only small RoIs: the coarse levels get none, yet every level gets a (zero) gradient, as
    mmdet's guard ensures; the values are mmdet's."""
    rois = random_rois(10, min_size=4)
    rois[:, 3:] = rois[:, 1:3] + 20  # all 20x20: level 0 only
    feats = tuple(f.requires_grad_() for f in feats_for())
    ours = build('SingleLevelRoIExtractor', 'TVRoIAlign').train()
    ref = build('SingleRoIExtractor', 'RoIAlign').train()
    out = ours(feats, rois)
    torch.testing.assert_close(out, ref(feats, rois), rtol=1e-5, atol=1e-5)
    grads = torch.autograd.grad(out.sum(), feats)
    assert all(g is not None for g in grads)
    assert grads[0].abs().sum() > 0 and all((g == 0).all() for g in grads[1:])


def test_no_rois_and_single_level():
    feats = feats_for()
    ours = build('SingleLevelRoIExtractor', 'TVRoIAlign')
    assert ours(feats, torch.zeros(0, 5)).shape == (0, 8, 32, 24)
    single = build('SingleLevelRoIExtractor', 'TVRoIAlign', strides=[4])
    ref = build('SingleRoIExtractor', 'RoIAlign', strides=[4])
    rois = random_rois(12)
    torch.testing.assert_close(single(feats[:1], rois), ref(feats[:1], rois), rtol=1e-5, atol=1e-5)
    assert single(feats[:1], torch.zeros(0, 5)).shape == (0, 8, 32, 24)


def test_unknown_layer_is_mmdets_error():
    with pytest.raises(AssertionError):
        build('SingleLevelRoIExtractor', 'NoSuchRoIOp')
