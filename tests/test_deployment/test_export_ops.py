"""mmhrkpt.deployment.export_ops: mmdet's numbers in PyTorch, the same numbers after ONNX export."""
import numpy as np
import pytest
import torch
from mmcv.ops import RoIPool, batched_nms
from mmdet.core.bbox.coder import DeltaXYWHBBoxCoder
from onnx_utils import export_session, run
from roi_utils import build, feats_for, random_rois

from mmhrkpt.deployment.export_ops import decode_deltas, grouped_nms, pool_rois, roi_align_args, topk_indices


def random_boxes(num, size=100.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(num, 2, generator=g) * size
    wh = 5 + torch.rand(num, 2, generator=g) * size / 2
    return torch.cat([xy, xy + wh], 1), torch.rand(num, generator=g)


@pytest.mark.parametrize('class_agnostic', [False, True])
def test_grouped_nms_keeps_what_mmcv_batched_nms_keeps(class_agnostic):
    boxes, scores = random_boxes(300)
    groups = torch.arange(300) % 3
    _, expected = batched_nms(boxes, scores, groups,
                              dict(type='nms', iou_threshold=0.5, class_agnostic=class_agnostic))
    keep = grouped_nms(boxes, scores, groups * int(not class_agnostic), 0.5)
    assert torch.equal(keep, expected)
    assert grouped_nms(boxes[:0], scores[:0], groups[:0], 0.5).shape == (0, )


def test_grouped_nms_and_topk_export_with_dynamic_and_empty_inputs():

    class Select(torch.nn.Module):

        def forward(self, boxes, scores, groups, thr):
            top = topk_indices(scores, 50)
            boxes, scores, groups = boxes[top], scores[top], groups[top]
            valid = (scores > thr[0]).nonzero().squeeze(1)
            return grouped_nms(boxes[valid], scores[valid], groups[valid], 0.6)

    module = Select()
    boxes, scores = random_boxes(80)
    groups = torch.arange(80) % 4
    thr = torch.tensor([0.2])
    session = export_session(module, (boxes, scores, groups, thr), ['b', 's', 'g', 't'],
                             dict(b={0: 'n'}, s={0: 'n'}, g={0: 'n'}))
    for num, threshold in ((80, 0.2), (30, 0.2), (80, 2.0), (0, 0.2)):
        args = (boxes[:num], scores[:num], groups[:num], torch.tensor([threshold]))
        (out, ) = run(session, *args)
        expected = module(*args)
        assert out.shape == expected.shape
        np.testing.assert_array_equal(out, expected.numpy())
    assert topk_indices(scores[:10], 50).tolist() == scores[:10].argsort(descending=True).tolist()


@pytest.mark.parametrize(
    'coder_cfg',
    [dict(target_stds=(0.1, 0.1, 0.2, 0.2)),
     dict(add_ctr_clamp=True, ctr_clamp=8),
     dict(clip_border=False)])
@pytest.mark.parametrize('groups', [1, 3])
def test_decode_deltas_equals_mmdet_and_exports(coder_cfg, groups):
    coder = DeltaXYWHBBoxCoder(**coder_cfg)
    rois, _ = random_boxes(64, seed=1)
    g = torch.Generator().manual_seed(2)
    deltas = torch.randn(64, 4 * groups, generator=g)
    deltas[:4] *= 10  # past the wh_ratio_clip
    max_hw = torch.tensor([90, 110])
    expected = coder.decode(rois, deltas, max_shape=(90, 110))
    assert torch.equal(decode_deltas(coder, rois, deltas, max_hw, groups), expected)

    class Decode(torch.nn.Module):

        def forward(self, rois, deltas, max_hw):
            return decode_deltas(coder, rois, deltas, max_hw, groups)

    session = export_session(Decode(), (rois, deltas, max_hw), ['r', 'd', 'm'], dict(r={0: 'n'}, d={0: 'n'}))
    for num in (64, 1, 0):
        (out, ) = run(session, rois[:num], deltas[:num], max_hw)
        np.testing.assert_allclose(out, expected[:num].numpy(), rtol=0, atol=1e-4)


@pytest.mark.parametrize('layer', ['SparseRoIAlign', 'TVRoIAlign', 'RoIAlign'])
@pytest.mark.parametrize('strides', [[4, 8, 16, 32], [4]])
def test_pool_rois_equals_the_extractor_and_exports(layer, strides):
    extractor = build('SingleLevelRoIExtractor', layer, strides=strides, output_size=(8, 6)).eval()
    feats = tuple(f[:1] for f in feats_for(img_size=128, strides=strides))
    rois = random_rois(40, img_size=128, num_imgs=1)
    rois[:5, 1:] = rois[:5, 1:] * 0.1  # small RoIs: the finest level
    with torch.no_grad():
        expected = extractor(feats, rois)
        torch.testing.assert_close(pool_rois(extractor, feats, rois), expected, rtol=0, atol=1e-5)

    class Pool(torch.nn.Module):

        def forward(self, rois, *feats):
            return pool_rois(extractor, feats, rois)

    names = ['rois'] + [f'f{i}' for i in range(len(feats))]
    session = export_session(Pool(), (rois, ) + feats, names, dict(rois={0: 'n'}))
    for subset in (rois, rois[:5], rois[5:6], rois[:0]):
        (out, ) = run(session, subset, *feats)
        with torch.no_grad():
            np.testing.assert_allclose(out, extractor(feats, subset).numpy(), rtol=0, atol=1e-5)


def test_roi_align_args_reject_other_layers():
    with pytest.raises(TypeError, match='RoIPool'):
        roi_align_args(RoIPool(7, 0.25))
    from mmcv.ops import RoIAlign
    with pytest.raises(ValueError, match='pool_mode'):
        roi_align_args(RoIAlign(7, 0.25, pool_mode='max'))
    assert roi_align_args(RoIAlign((8, 6), 0.25, 2, aligned=True)) == dict(
        output_size=(8, 6), spatial_scale=0.25, sampling_ratio=2, aligned=True)
