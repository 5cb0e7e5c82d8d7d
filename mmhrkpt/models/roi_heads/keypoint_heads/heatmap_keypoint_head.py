"""Keypoint heads of the RoI head: RoI features in, per-keypoint heatmaps out.

Shape legend: N RoIs, K keypoints, C channels, (h, w) the RoI feature size, (H, W) the heatmap size.
Heatmap sizes are (H, W) throughout, never mmpose's [W, H].
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_upsample_layer
from mmcv.runner import BaseModule, auto_fp16, force_fp32
from mmdet.models.builder import HEADS, build_loss

from mmhrkpt.codecs import build_codec
from mmhrkpt.utils.mmpose_compat import import_mmpose

MMPOSE_SCOPE = 'mmpose.'


def build_scoped_loss(cfg):
    """``build_loss``, importing mmpose first when ``cfg`` names one of its losses (``mmpose.X``):
    ``import mmhrkpt`` leaves mmpose out, so its registry exists only once it is imported."""
    if str(cfg.get('type', '')).startswith(MMPOSE_SCOPE):
        import_mmpose('models')
    return build_loss(cfg)


@HEADS.register_module()
class HeatmapKeypointHead(BaseModule):
    """Gaussian-heatmap keypoint head: HRNet/SimpleBaseline heatmaps on RoI features.

    ``num_convs`` 3x3 convs at the RoI feature size, ``num_deconvs`` stride-2 deconvolutions, a 1x1
    conv to K heatmaps, and a bilinear resize only if the result is not yet the codec's heatmap size.
    With ``deconv_to_heatmaps`` the last deconvolution itself outputs the K heatmaps and there is no
    1x1 conv (detectron2's keypoint head ends this way): no C-channel map at the upsampled size is
    ever made, which at 64x48 is most of the head's cost after the convs.
    How keypoints become targets and heatmaps become keypoints is the codec's business (built from
    ``codec``: ``MSRAHeatmap`` / ``DarkHeatmap`` / ``UDPHeatmap`` / ...), so switching MSRA, DARK
    and UDP is a config change.

    Mixed precision (``fp16 = dict(loss_scale='dynamic')``, as mmdet's ``FCNMaskHead``): ``forward``
    runs in half precision (``@auto_fp16``), while targets, the loss and decoding stay in float32
    (``@force_fp32`` on ``loss`` and ``decode``; the codec encodes float32 keypoints).

    Args:
        num_keypoints (int): K.
        in_channels (int): C of the RoI features.
        roi_feat_size (tuple[int]): (h, w) of the RoI features, as the keypoint RoI extractor's
            ``output_size``.
        num_convs (int): 3x3 conv layers before upsampling.
        conv_out_channels (int): their width.
        num_deconvs (int): stride-2 4x4 transposed convs (each doubles h and w).
        deconv_out_channels (int): their width.
        deconv_to_heatmaps (bool): the last deconvolution outputs the K heatmaps (no ReLU after it,
            no 1x1 conv); it is then ``conv_logits``. Needs ``num_deconvs >= 1``.
        codec (dict): config of the heatmap codec (``mmhrkpt.codecs.CODECS``); it fixes (H, W).
        loss_keypoint (dict): config of the loss (mmdet's registry; mmpose's losses through the
            ``mmpose.`` scope, e.g. ``type='mmpose.JointsMSELoss'``, which imports mmpose then).
            Called as ``loss(pred, target, target_weight[N, K, 1])``. The mean squared error of
            Gaussian heatmaps is small (most cells are near zero), so it needs a large weight to
            count beside the box losses; the default, 3000, was chosen by measurement (README).
        joint_weights (Sequence[float], optional): K weights of the keypoints in the loss (mmpose's
            ``joint_weights``); training sets them from the dataset meta when the config gives none.
        conv_cfg, norm_cfg (dict): for the conv layers (mmcv ``ConvModule``).
        init_cfg (dict | list[dict]): weight init (default: kaiming convs, normal(0.001) output).
    """

    def __init__(self,
                 num_keypoints=17,
                 in_channels=256,
                 roi_feat_size=(32, 24),
                 num_convs=4,
                 conv_out_channels=256,
                 num_deconvs=1,
                 deconv_out_channels=256,
                 deconv_to_heatmaps=False,
                 codec=dict(type='MSRAHeatmap', heatmap_size=(64, 48), sigma=2.0),
                 loss_keypoint=dict(type='HeatmapMSELoss', use_target_weight=True, loss_weight=3000.),
                 joint_weights=None,
                 conv_cfg=None,
                 norm_cfg=None,
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [
                dict(
                    type='Kaiming', layer=['Conv2d', 'ConvTranspose2d'], mode='fan_out', nonlinearity='relu'),
                dict(type='Normal', std=0.001, override=dict(name='conv_logits')),
            ]
        super().__init__(init_cfg)
        self.num_keypoints = num_keypoints
        self.in_channels = in_channels
        self.roi_feat_size = tuple(roi_feat_size)
        self.codec = build_codec(codec)
        self.heatmap_size = tuple(self.codec.heatmap_size)
        self.loss_keypoint = build_scoped_loss(loss_keypoint)
        self.fp16_enabled = False
        self.joint_weights = None
        if joint_weights is not None:
            self.set_joint_weights(joint_weights)

        convs = []
        channels = in_channels
        for _ in range(num_convs):
            convs.append(
                ConvModule(channels, conv_out_channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg))
            channels = conv_out_channels
        self.convs = nn.Sequential(*convs)
        if deconv_to_heatmaps and num_deconvs < 1:
            raise ValueError('deconv_to_heatmaps needs num_deconvs >= 1')
        deconvs = []
        for _ in range(num_deconvs - int(deconv_to_heatmaps)):
            deconvs += [
                build_upsample_layer(
                    dict(type='deconv'), channels, deconv_out_channels, kernel_size=4, stride=2, padding=1),
                nn.ReLU(inplace=True),
            ]
            channels = deconv_out_channels
        self.deconvs = nn.Sequential(*deconvs)
        if deconv_to_heatmaps:
            self.conv_logits = build_upsample_layer(
                dict(type='deconv'), channels, num_keypoints, kernel_size=4, stride=2, padding=1)
        else:
            self.conv_logits = nn.Conv2d(channels, num_keypoints, 1)
        scale = 2**num_deconvs
        self.upsampled_size = (self.roi_feat_size[0] * scale, self.roi_feat_size[1] * scale)

    def expand_rois(self, bboxes, padding=1.25):
        """Boxes -> the RoIs the codec's heatmaps cover (its aspect ratio or the box's shape), padded.

        Args:
            bboxes (Tensor[N, 4]): boxes (x1, y1, x2, y2) in image pixels.
            padding (float): factor applied to both sides of the (aspect-corrected) box.

        Returns:
            Tensor[N, 4]: keypoint RoIs (x1, y1, x2, y2).
        """
        return self.codec.expand_rois(bboxes, padding=padding)

    def set_joint_weights(self, joint_weights):
        """Weight keypoint k's loss by ``joint_weights[k]`` (K non-negative numbers)."""
        weights = torch.as_tensor(joint_weights, dtype=torch.float32).reshape(-1)
        if weights.numel() != self.num_keypoints or not torch.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(f'joint_weights must be K={self.num_keypoints} non-negative numbers, got '
                             f'{weights.tolist()}')
        self.joint_weights = weights

    @auto_fp16()
    def forward(self, x):
        """Tensor[N, C, h, w] RoI features -> Tensor[N, K, H, W] heatmaps (logits for one-hot)."""
        x = self.deconvs(self.convs(x))
        x = self.conv_logits(x)
        if self.upsampled_size != self.heatmap_size:
            x = F.interpolate(x, size=self.heatmap_size, mode='bilinear', align_corners=False)
        return x

    def get_targets(self, keypoints, rois):
        """Encode the matched ground truth of each RoI.

        Args:
            keypoints (Tensor[N, K, 3]): (x, y, v) in image pixels, matched to the RoIs.
            rois (Tensor[N, 4]): the (expanded) keypoint RoIs, (x1, y1, x2, y2) in image pixels.

        Returns:
            tuple: targets (as the codec encodes, e.g. Tensor[N, K, H, W]) and weights Tensor[N, K]
            (the codec's 0/1 validity times ``joint_weights``, if any), both float32.
        """
        targets, weights = self.codec.encode(keypoints.float(), rois.float())
        if self.joint_weights is not None:
            weights = weights * self.joint_weights.to(weights.device)  # [N, K] * [K]
        return targets, weights

    @force_fp32(apply_to=('pred', ))
    def loss(self, pred, targets, weights):
        """Heatmap loss: ``loss_keypoint(pred[N, K, H, W], targets[N, K, H, W], weights[N, K, 1])``.

        With no RoI in the batch the loss is a zero that still reaches every parameter of the head.
        """
        if pred.numel() == 0:
            return dict(loss_keypoint=pred.sum() + sum(p.sum() * 0 for p in self.parameters()))
        return dict(loss_keypoint=self.loss_keypoint(pred, targets, weights.unsqueeze(-1)))

    @force_fp32(apply_to=('pred', ))
    def decode(self, pred, rois):
        """Heatmaps to image keypoints (in float32).

        Args:
            pred (Tensor[N, K, H, W]): the head's output.
            rois (Tensor[N, 4]): the (expanded) keypoint RoIs the heatmaps were predicted for.

        Returns:
            tuple: keypoints Tensor[N, K, 2] in the RoIs' pixel frame, scores Tensor[N, K].
        """
        return self.codec.decode(pred, rois.float())

    def flip_back(self, pred, flip_pairs):
        """Heatmaps of a horizontally flipped image -> heatmaps of the original (flip pairs swapped)."""
        return self.codec.flip_back(pred, flip_pairs)
