"""The classic Keypoint R-CNN keypoint head: one-hot cells and a spatial cross-entropy.

Shape legend: N RoIs, K keypoints, (H, W) the map size.
"""
from mmcv.runner import force_fp32
from mmdet.models.builder import HEADS

from .heatmap_keypoint_head import HeatmapKeypointHead


@HEADS.register_module()
class OneHotKeypointHead(HeatmapKeypointHead):
    """The classic Keypoint R-CNN head (Mask R-CNN, detectron2) as a baseline.

    Each keypoint is one cell of a 56x56 map; the loss is a softmax cross-entropy over the H*W cells
    of each labelled keypoint, averaged over the labelled keypoints of the batch. Defaults follow
    detectron2's ``KRCNNConvDeconvUpsampleHead``: 14x14 RoI features, eight 512-wide 3x3 convs, a
    stride-2 deconv straight to the K maps at 28x28 and a bilinear x2 to 56x56
    (``deconv_out_channels`` only matters with ``num_deconvs > 1``). RoIs keep the box's shape (the
    one-hot codec's ``expand_rois`` only pads them).
    """

    def __init__(self,
                 num_keypoints=17,
                 in_channels=256,
                 roi_feat_size=(14, 14),
                 num_convs=8,
                 conv_out_channels=512,
                 num_deconvs=1,
                 deconv_out_channels=512,
                 deconv_to_heatmaps=True,
                 codec=dict(type='OneHotHeatmap', heatmap_size=(56, 56)),
                 loss_keypoint=dict(type='CrossEntropyLoss', loss_weight=1.0),
                 **kwargs):
        super().__init__(
            num_keypoints=num_keypoints,
            in_channels=in_channels,
            roi_feat_size=roi_feat_size,
            num_convs=num_convs,
            conv_out_channels=conv_out_channels,
            num_deconvs=num_deconvs,
            deconv_out_channels=deconv_out_channels,
            deconv_to_heatmaps=deconv_to_heatmaps,
            codec=codec,
            loss_keypoint=loss_keypoint,
            **kwargs)

    @force_fp32(apply_to=('pred', ))
    def loss(self, pred, targets, weights):
        """Spatial cross-entropy.

        Args:
            pred (Tensor[N, K, H, W]): logits.
            targets (Tensor[N, K]): the flat index ``y * W + x`` of each keypoint's cell.
            weights (Tensor[N, K]): 1 for keypoints that count, else 0.
        """
        logits = pred.flatten(2).flatten(0, 1)  # [N*K, H*W]
        weights = weights.flatten()
        num_valid = weights.sum().clamp(min=1.0)
        loss = self.loss_keypoint(logits, targets.flatten().long(), weight=weights, avg_factor=num_valid)
        if pred.numel() == 0:
            loss = pred.sum() + sum(p.sum() * 0 for p in self.parameters())
        return dict(loss_keypoint=loss)
