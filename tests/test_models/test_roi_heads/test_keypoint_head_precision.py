"""The keypoint head's joint weights (one multiply of the target weights) and mixed precision as mmdet
runs it: ``@auto_fp16`` forward, ``@force_fp32`` loss and decode, float32 targets; and the codecs'
dtypes with half-precision inputs."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmdet.models.builder import build_head, build_roi_extractor
from mmdet.utils import get_root_logger

from mmhrkpt.apis.train import apply_joint_weights
from mmhrkpt.codecs import build_codec

CODECS = ('MSRAHeatmap', 'DarkHeatmap', 'UDPHeatmap')
ROIS = torch.tensor([[0., 0., 12., 16.], [10., 20., 34., 52.]])
KEYPOINTS = torch.tensor([[[3., 4., 2.], [6., 8., 1.], [0., 0., 0.]],
                          [[20., 30., 2.], [15., 40., 2.], [30., 50., 2.]]])


def _head(codec='DarkHeatmap', **kwargs):
    cfg = dict(
        type='HeatmapKeypointHead',
        num_keypoints=3,
        in_channels=8,
        roi_feat_size=(8, 6),
        num_convs=1,
        conv_out_channels=8,
        num_deconvs=1,
        deconv_out_channels=8,
        codec=dict(type=codec, heatmap_size=(16, 12), sigma=1.0))
    cfg.update(kwargs)
    head = build_head(cfg)
    head.init_weights()
    return head


# ------------------------------------------------------------------------------ joint weights
def test_joint_weights_scale_the_target_weights_and_the_loss():
    plain, weighted = _head(), _head(joint_weights=[2.0, 0.5, 1.0])
    targets, weights = plain.get_targets(KEYPOINTS, ROIS)
    targets_w, weights_w = weighted.get_targets(KEYPOINTS, ROIS)
    torch.testing.assert_close(targets_w, targets)
    torch.testing.assert_close(weights_w, weights * torch.tensor([2.0, 0.5, 1.0]))
    assert weights_w[0, 2] == 0  # an unlabelled keypoint still counts nothing
    pred = torch.rand_like(targets)
    per_map = ((pred - targets)**2).flatten(2).mean(-1)  # [N, K]
    expected = (per_map * weights_w).mean() * weighted.loss_keypoint.loss_weight
    torch.testing.assert_close(weighted.loss(pred, targets_w, weights_w)['loss_keypoint'], expected)
    with pytest.raises(ValueError, match='joint_weights must be K=3'):
        _head(joint_weights=[1.0, 1.0])


def test_training_hands_the_dataset_joint_weights_to_the_head():
    logger = get_root_logger()
    dataset = SimpleNamespace(joint_weights=np.array([1.0, 1.5, 0.5], np.float32))
    head = _head()
    apply_joint_weights(SimpleNamespace(roi_head=SimpleNamespace(keypoint_head=head)), dataset, logger)
    torch.testing.assert_close(head.joint_weights, torch.tensor([1.0, 1.5, 0.5]))
    # the head's own config wins
    head = _head(joint_weights=[3.0, 3.0, 3.0])
    apply_joint_weights(SimpleNamespace(roi_head=SimpleNamespace(keypoint_head=head)), dataset, logger)
    torch.testing.assert_close(head.joint_weights, torch.full((3, ), 3.0))
    # none in the meta: none in the head
    head = _head()
    apply_joint_weights(
        SimpleNamespace(roi_head=SimpleNamespace(keypoint_head=head)), SimpleNamespace(joint_weights=None),
        logger)
    assert head.joint_weights is None
    other = SimpleNamespace(joint_weights=np.ones(3, np.float32))
    with pytest.raises(ValueError, match='different joint_weights'):
        apply_joint_weights(
            SimpleNamespace(roi_head=SimpleNamespace(keypoint_head=_head())),
            SimpleNamespace(datasets=[dataset, other]), logger)


# --------------------------------------------------------------------------- mixed precision
@pytest.mark.parametrize('codec', CODECS)
def test_fp16_head_forward_half_loss_and_decode_float32(codec):
    head = _head(codec)
    x = torch.randn(2, 8, 8, 6)
    assert head(x).dtype == torch.float32  # fp16 off: the decorators pass through
    reference = head(x)
    # as mmcv's wrap_fp16_model + Fp16OptimizerHook set it; on CPU the layers themselves are made
    # half, on GPUs autocast runs them in half
    head.half()
    head.fp16_enabled = True
    pred = head(x)  # float32 features in: auto_fp16 casts them
    assert pred.dtype == torch.float16
    torch.testing.assert_close(pred.float(), reference, atol=2e-3, rtol=1e-2)

    targets, weights = head.get_targets(KEYPOINTS.half(), ROIS.half())
    assert targets.dtype == weights.dtype == torch.float32
    seen = []
    head.loss_keypoint.register_forward_pre_hook(lambda m, args: seen.append(args[0].dtype))
    loss = head.loss(pred, targets, weights)['loss_keypoint']
    assert seen == [torch.float32] and loss.dtype == torch.float32  # force_fp32 cast the heatmaps
    torch.testing.assert_close(loss, head.loss(pred.float(), targets, weights)['loss_keypoint'])

    coords, scores = head.decode(pred, ROIS.half())
    assert coords.dtype == scores.dtype == torch.float32
    ref_coords, ref_scores = head.decode(pred.float(), ROIS)
    torch.testing.assert_close(coords, ref_coords)
    torch.testing.assert_close(scores, ref_scores)


def test_fp16_one_hot_head_loss_in_float32():
    head = build_head(
        dict(
            type='OneHotKeypointHead',
            num_keypoints=3,
            in_channels=8,
            roi_feat_size=(7, 7),
            num_convs=1,
            conv_out_channels=8,
            codec=dict(type='OneHotHeatmap', heatmap_size=(28, 28))))
    head.init_weights()
    head.half()
    head.fp16_enabled = True
    pred = head(torch.randn(2, 8, 7, 7))
    assert pred.dtype == torch.float16 and pred.shape == (2, 3, 28, 28)
    targets, weights = head.get_targets(KEYPOINTS, ROIS)
    loss = head.loss(pred, targets, weights)['loss_keypoint']
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


def test_fp16_roi_features_pooled_in_float32_handed_on_in_half():
    extractor = build_roi_extractor(
        dict(
            type='SingleLevelRoIExtractor',
            roi_layer=dict(type='SparseRoIAlign', output_size=(8, 6), sampling_ratio=2, aligned=True),
            out_channels=8,
            featmap_strides=[4]))
    feats = (torch.randn(1, 8, 24, 24), )
    rois = torch.tensor([[0., 4., 4., 40., 60.], [0., 30., 10., 80., 90.]])
    reference = extractor(feats, rois)
    extractor.fp16_enabled = True
    out = extractor((feats[0].half(), ), rois)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), reference, atol=2e-3, rtol=1e-2)


@pytest.mark.parametrize('codec', CODECS)
def test_codecs_give_float32_for_half_inputs(codec):
    """Targets and decoded keypoints stay float32 whatever precision the network ran in."""
    codec = build_codec(dict(type=codec, heatmap_size=(16, 12), sigma=1.0))
    targets, weights = codec.encode(KEYPOINTS.half(), ROIS.half())
    ref_targets, ref_weights = codec.encode(KEYPOINTS, ROIS)
    assert targets.dtype == weights.dtype == torch.float32
    torch.testing.assert_close(weights, ref_weights)
    torch.testing.assert_close(targets, ref_targets, atol=2e-3, rtol=0)
    coords, scores = codec.decode(ref_targets.half(), ROIS.half())
    assert coords.dtype == scores.dtype == torch.float32
    ref_coords, _ = codec.decode(ref_targets, ROIS)
    labelled = ref_weights > 0
    torch.testing.assert_close(coords[labelled], ref_coords[labelled], atol=0.05, rtol=0)
