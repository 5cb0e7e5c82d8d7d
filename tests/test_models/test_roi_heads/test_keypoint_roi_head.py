import numpy as np
import pytest
import torch
from mmcv import ConfigDict
from mmdet.models.builder import build_head

from mmhrkpt.codecs.utils import expand_rois

K = 4
FLIP_PAIRS = [(0, 1), (2, 3)]


def _roi_head(codec='UDPHeatmap', rescore=True, padding=1.25):
    cfg = dict(
        type='KeypointRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=8,
            featmap_strides=[4, 8]),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=8,
            fc_out_channels=16,
            roi_feat_size=7,
            num_classes=1,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        keypoint_roi_expand=dict(padding=padding),
        keypoint_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=(8, 6), sampling_ratio=2, aligned=True),
            out_channels=8,
            featmap_strides=[4]),
        keypoint_head=dict(
            type='HeatmapKeypointHead',
            num_keypoints=K,
            in_channels=8,
            roi_feat_size=(8, 6),
            num_convs=1,
            conv_out_channels=8,
            num_deconvs=1,
            deconv_out_channels=8,
            codec=dict(type=codec, heatmap_size=(16, 12), sigma=1.0)),
        train_cfg=ConfigDict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler', num=32, pos_fraction=0.25, neg_pos_ub=-1, add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False,
            keypoint=dict(max_rois_per_img=3)),
        test_cfg=ConfigDict(
            score_thr=0.0,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=10,
            keypoint=dict(rescore=rescore, score_thr=0.2)))
    head = build_head(cfg)
    head.init_weights()
    return head


def _feats(batch=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, 8, 32, 32, generator=g), torch.randn(batch, 8, 16, 16, generator=g))


def _meta(size=128, scale=1.0):
    return dict(
        img_shape=(size, size, 3),
        ori_shape=(size, size, 3),
        pad_shape=(size, size, 3),
        scale_factor=np.array([scale] * 4, dtype=np.float32),
        flip=False,
        keypoint_flip_pairs=FLIP_PAIRS)


def _gt(labelled=True):
    boxes = torch.tensor([[10., 20., 50., 100.], [60., 10., 120., 90.]])
    kpts = torch.zeros(2, K, 3)
    kpts[..., 0] = torch.linspace(15, 45, K)[None] + boxes[:, :1]
    kpts[..., 1] = torch.linspace(30, 70, K)[None] + boxes[:, 1:2] - 10
    kpts[..., 2] = 2.0 if labelled else 0.0
    return boxes, torch.zeros(2, dtype=torch.long), kpts


def test_forward_train_losses_and_cap():
    head = _roi_head()
    boxes, labels, kpts = _gt()
    proposals = [torch.cat([boxes + 2, torch.ones(2, 1)], 1)]
    calls = []
    orig = head.keypoint_head.get_targets
    head.keypoint_head.get_targets = lambda k, r: calls.append(len(k)) or orig(k, r)
    losses = head.forward_train(_feats(), [_meta()], proposals, [boxes], [labels], gt_keypoints=[kpts])
    for key in ('loss_cls', 'loss_bbox', 'loss_keypoint'):
        assert key in losses
    assert torch.isfinite(losses['loss_keypoint']) and losses['loss_keypoint'] > 0
    assert 1 <= calls[0] <= 3  # positives with keypoints, capped by max_rois_per_img
    losses['loss_keypoint'].backward()
    assert head.keypoint_head.conv_logits.weight.grad.abs().sum() > 0


def test_forward_train_without_labelled_keypoints_or_gt():
    head = _roi_head()
    boxes, labels, kpts = _gt(labelled=False)
    proposals = [torch.cat([boxes, torch.ones(2, 1)], 1)]
    losses = head.forward_train(_feats(), [_meta()], proposals, [boxes], [labels], gt_keypoints=[kpts])
    assert losses['loss_keypoint'].item() == 0
    # an image with no ground truth at all
    losses = head.forward_train(
        _feats(), [_meta()], [torch.tensor([[5., 5., 40., 60., 1.]])], [torch.zeros(0, 4)],
        [torch.zeros(0, dtype=torch.long)],
        gt_keypoints=[torch.zeros(0, K, 3)])
    assert losses['loss_keypoint'].item() == 0 and torch.isfinite(losses['loss_cls'])


def test_forward_train_needs_keypoints():
    head = _roi_head()
    boxes, labels, _ = _gt()
    with pytest.raises(ValueError, match='gt_keypoints'):
        head.forward_train(_feats(), [_meta()], [torch.cat([boxes, torch.ones(2, 1)], 1)], [boxes], [labels])


def test_simple_test_format_and_rescale():
    head = _roi_head()
    head.eval()
    proposals = [
        torch.tensor([[10., 20., 50., 100., 0.9], [60., 10., 120., 90., 0.8]]),
        torch.tensor([[5., 5., 40., 60., 0.7]])
    ]
    with torch.no_grad():
        results = head.simple_test(_feats(batch=2), proposals, [_meta(), _meta(scale=2.0)], rescale=True)
    assert len(results) == 2
    for bbox_results, kpt_results in results:
        assert len(bbox_results) == 1 and len(kpt_results) == 1
        assert bbox_results[0].shape[1] == 5
        assert kpt_results[0].shape == (bbox_results[0].shape[0], K, 3)
        assert kpt_results[0].dtype == np.float32
    # image 2 was scaled by 2: its keypoints come back in the original (half-size) frame
    bb, kp = results[1][0][0], results[1][1][0]
    if len(bb):
        assert (kp[..., 0] <= 64 + 1e-3).all() and (kp[..., 1] <= 64 + 1e-3).all()


def test_no_detections():
    head = _roi_head()
    head.eval()
    with torch.no_grad():
        results = head.simple_test(_feats(), [torch.zeros(0, 5)], [_meta()], rescale=True)
    (bbox_results, kpt_results), = results
    assert bbox_results[0].shape == (0, 5) and kpt_results[0].shape == (0, K, 3)


def test_keypoints_decode_in_expanded_rois_and_rescore():
    """Keypoint decoding uses the expanded RoIs; rescoring multiplies by the confident mean."""
    head = _roi_head(rescore=True)
    head.eval()
    det = [torch.tensor([[10., 20., 50., 100., 0.5]])]
    # Force the heatmaps: one peak per keypoint; keypoints 0-1 confident (0.9), 2-3 not (0.1).
    rois = expand_rois(det[0][:, :4], aspect_ratio=12 / 16, padding=1.25)
    kpts = torch.tensor([[[20., 40., 2.], [40., 40., 2.], [20., 80., 2.], [40., 80., 2.]]])
    targets, _ = head.keypoint_head.get_targets(kpts, rois)
    targets = targets * torch.tensor([0.9, 0.9, 0.1, 0.1])[None, :, None, None]
    head._keypoint_forward = lambda x, r: targets
    keypoints, scores = head.simple_test_keypoints(_feats(), [_meta()], det, rescale=True)
    out = keypoints[0]
    assert torch.allclose(out[0, :, :2], kpts[0, :, :2], atol=0.1)
    peaks = targets.flatten(2).max(-1)[0][0]  # keypoint score = the heatmap maximum
    assert torch.allclose(out[0, :, 2], peaks, atol=1e-5)
    assert peaks[2] < 0.2 < peaks[0]
    # instance score = box score * mean of the keypoint scores above score_thr (0.2), returned
    # as a new tensor: the detections are left as they were
    assert scores[0][0].item() == pytest.approx(0.5 * peaks[:2].mean().item(), abs=1e-5)
    assert det[0][0, 4].item() == 0.5


@pytest.mark.parametrize('codec', ['UDPHeatmap', 'MSRAHeatmap', 'DarkHeatmap'])
def test_flip_test_symmetric_input_gives_mirrored_keypoints(codec):
    """Left-right symmetric features and a centred box: the flip-averaged keypoints of each flip
    pair mirror each other about the image centre."""
    # a fixed random head: with some draws a nearly flat random heatmap lets DARK's Newton step jump
    # by more than a cell, which says nothing about the flip
    torch.manual_seed(0)
    head = _roi_head(codec=codec)
    head.eval()
    width = 128.0
    x = tuple(0.5 * (f + f.flip(-1)) for f in _feats())  # symmetric features
    det = [torch.tensor([[34., 20., 94., 100., 0.9]])]  # centred: x1 + x2 = width
    with torch.no_grad():
        out = head.simple_test_keypoints(
            x, [_meta()], det, rescale=False, x_flip=x, flip_widths=[width])[0][0][0]
    # UDP's flip is exact; MSRA/DARK's one-column shift leaves a sub-cell asymmetry
    tol = 0.05 if codec == 'UDPHeatmap' else 60 / 12 * 1.25 + 0.05
    for a, b in FLIP_PAIRS:
        assert abs(out[a, 0] - (width - out[b, 0])) <= tol
        assert abs(out[a, 1] - out[b, 1]) <= tol
        if codec == 'UDPHeatmap':  # MSRA/DARK's shift leaves the scores unequal
            assert abs(out[a, 2] - out[b, 2]) <= 0.05


def test_rescore_instances_returns_new_scores():
    from mmhrkpt.models.roi_heads.test_mixins import rescore_instances
    box = torch.tensor([0.8, 0.5, 0.4])
    kpt = torch.tensor([[0.9, 0.7, 0.1], [0.1, 0.1, 0.1], [0.3, 0.2, 0.25]])
    out = rescore_instances(box, kpt, score_thr=0.2)
    assert torch.allclose(out, torch.tensor([0.8 * 0.8, 0.0, 0.4 * 0.275]))
    assert box.tolist() == pytest.approx([0.8, 0.5, 0.4])  # inputs untouched


def test_mirror_rois_maps_x_to_width_minus_x():
    from mmhrkpt.models.roi_heads.test_mixins import mirror_rois
    rois = torch.tensor([[0., 10., 5., 30., 40.], [1., 0., 0., 8., 8.]])
    out = mirror_rois(rois, torch.tensor([100., 50.]))
    assert out.tolist() == [[0., 70., 5., 90., 40.], [1., 42., 0., 50., 8.]]
    assert mirror_rois(out, torch.tensor([100., 50.])).tolist() == rois.tolist()


def test_forward_dummy_runs_the_keypoint_branch():
    head = _roi_head()
    head.eval()
    with torch.no_grad():
        outs = head.forward_dummy(_feats(), torch.tensor([[10., 20., 50., 100.], [0., 0., 30., 30.]]))
    heatmaps = outs[-1]
    assert heatmaps.shape[:2] == (2, head.num_keypoints)
    assert tuple(heatmaps.shape[-2:]) == head.keypoint_head.heatmap_size
