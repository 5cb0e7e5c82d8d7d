import pytest
import torch
from mmdet.models.builder import build_head


def _heatmap_head(codec='MSRAHeatmap', **kwargs):
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
    return build_head(cfg)


def test_heatmap_head_forward_shape_and_aspect():
    head = _heatmap_head()
    head.init_weights()
    out = head(torch.randn(5, 8, 8, 6))
    assert out.shape == (5, 3, 16, 12)
    rois = head.expand_rois(torch.tensor([[0., 0., 10., 40.], [0., 0., 40., 10.]]), padding=1.0)
    size = rois[:, 2:] - rois[:, :2]
    torch.testing.assert_close(size[:, 0] / size[:, 1], torch.full((2, ), 12 / 16))


def test_heatmap_head_resizes_to_codec_size_when_upsampling_differs():
    head = _heatmap_head(num_deconvs=0)  # 8x6 convs, heatmap 16x12 by bilinear resize
    assert head(torch.randn(2, 8, 8, 6)).shape == (2, 3, 16, 12)


def test_heatmap_head_deconv_to_heatmaps():
    """The last deconvolution makes the K heatmaps: no 1x1 conv, no C-channel map at 16x12, and
    conv_logits (the deconvolution) gets the small normal init."""
    head = _heatmap_head(num_deconvs=2, deconv_to_heatmaps=True, roi_feat_size=(4, 3))
    head.init_weights()
    assert isinstance(head.conv_logits, torch.nn.ConvTranspose2d)
    assert head.conv_logits.out_channels == 3 and head.conv_logits.in_channels == 8
    assert not any(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1) for m in head.modules())
    assert head.conv_logits.weight.std() < 0.01
    seen = []
    for m in head.deconvs:
        m.register_forward_hook(lambda mod, inp, out: seen.append(tuple(out.shape)))
    assert head(torch.randn(2, 8, 4, 3)).shape == (2, 3, 16, 12)
    assert all(shape[2:] == (8, 6) for shape in seen)  # only the first deconvolution is C-wide
    with pytest.raises(ValueError, match='num_deconvs >= 1'):
        _heatmap_head(num_deconvs=0, deconv_to_heatmaps=True)


@pytest.mark.parametrize('codec', ['MSRAHeatmap', 'DarkHeatmap', 'UDPHeatmap'])
def test_heatmap_head_loss_zero_at_target_positive_elsewhere(codec):
    head = _heatmap_head(codec=codec)
    rois = torch.tensor([[0., 0., 12., 16.], [10., 20., 34., 52.]])
    kpts = torch.tensor([[[3., 4., 2.], [6., 8., 1.], [0., 0., 0.]],
                         [[20., 30., 2.], [15., 40., 2.], [30., 50., 2.]]])
    targets, weights = head.get_targets(kpts, rois)
    assert targets.shape == (2, 3, 16, 12) and weights.shape == (2, 3)
    assert weights[0, 2] == 0 and weights[1].min() == 1
    assert head.loss(targets.clone(), targets, weights)['loss_keypoint'].item() == 0
    loss = head.loss(torch.zeros_like(targets), targets, weights)['loss_keypoint']
    assert loss.item() > 0
    # An unlabelled keypoint contributes nothing, whatever is predicted for it.
    pred = targets.clone()
    pred[0, 2] = 5.0
    assert head.loss(pred, targets, weights)['loss_keypoint'].item() == 0


def test_heatmap_head_empty_rois_give_zero_loss_with_gradient():
    head = _heatmap_head()
    pred = head(torch.zeros(0, 8, 8, 6))
    targets, weights = head.get_targets(torch.zeros(0, 3, 3), torch.zeros(0, 4))
    loss = head.loss(pred, targets, weights)['loss_keypoint']
    assert loss.item() == 0
    loss.backward()
    assert head.conv_logits.weight.grad is not None


def test_heatmap_head_decode_uses_codec():
    head = _heatmap_head(codec='UDPHeatmap')
    rois = torch.tensor([[10., 20., 34., 52.]])
    # interior points (>= 4 cells from the border, where the refinement is well conditioned)
    kpts = torch.tensor([[[20.3, 30.7, 2.], [22.2, 40.1, 2.], [24.5, 35.2, 2.]]])
    targets, _ = head.get_targets(kpts, rois)
    coords, scores = head.decode(targets, rois)
    assert coords.shape == (1, 3, 2) and scores.shape == (1, 3)
    assert torch.allclose(coords, kpts[..., :2], atol=0.15)


def test_onehot_head_cross_entropy():
    head = build_head(
        dict(
            type='OneHotKeypointHead',
            num_keypoints=2,
            in_channels=8,
            roi_feat_size=(7, 7),
            num_convs=1,
            conv_out_channels=8,
            deconv_out_channels=8,
            codec=dict(type='OneHotHeatmap', heatmap_size=(28, 28))))
    assert head(torch.randn(3, 8, 7, 7)).shape == (3, 2, 28, 28)
    rois = torch.tensor([[0., 0., 28., 28.]])
    kpts = torch.tensor([[[5.5, 7.5, 2.], [100., 100., 2.]]])  # the second is outside the RoI
    targets, weights = head.get_targets(kpts, rois)
    assert targets[0, 0].item() == 7 * 28 + 5 and weights.tolist() == [[1.0, 0.0]]
    right = torch.full((1, 2, 28, 28), -20.0)
    right[0, 0, 7, 5] = 20.0
    wrong = torch.full((1, 2, 28, 28), -20.0)
    wrong[0, 0, 0, 0] = 20.0
    loss_right = head.loss(right, targets, weights)['loss_keypoint'].item()
    loss_wrong = head.loss(wrong, targets, weights)['loss_keypoint'].item()
    assert loss_right < 1e-6 < 1.0 < loss_wrong
    coords, scores = head.decode(right, rois)
    assert coords[0, 0].tolist() == [5.5, 7.5] and scores[0, 0].item() == pytest.approx(1.0)


def test_heads_expand_rois_as_their_codec():
    boxes = torch.tensor([[0., 0., 10., 40.], [0., 0., 40., 10.]])
    onehot = build_head(
        dict(
            type='OneHotKeypointHead',
            num_keypoints=2,
            in_channels=8,
            roi_feat_size=(7, 7),
            num_convs=1,
            conv_out_channels=8,
            codec=dict(type='OneHotHeatmap', heatmap_size=(28, 28))))
    rois = onehot.expand_rois(boxes, padding=1.5)
    torch.testing.assert_close(rois[:, 2:] - rois[:, :2], (boxes[:, 2:] - boxes[:, :2]) * 1.5)
    heatmap = _heatmap_head()
    assert torch.equal(heatmap.expand_rois(boxes, padding=1.5), heatmap.codec.expand_rois(boxes, padding=1.5))
