"""Loop-free heatmap MSE loss."""
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.builder import LOSSES


@LOSSES.register_module()
class HeatmapMSELoss(nn.Module):
    """mmpose 0.29.0's ``JointsMSELoss`` in one expression, without its loop over keypoints.

    Shape legend: N RoIs, K keypoints, (H, W) heatmap size.

    ``loss = loss_weight * mean_{n,k,y,x} (pred - target)^2 * w[n, k]`` with ``use_target_weight``
    (mmpose multiplies the squared error by the weight, unsquared), else the plain mean. Equal to
    ``type='mmpose.JointsMSELoss'`` for the same arguments (tests/test_models/test_losses.py).

    Args:
        use_target_weight (bool): weight each keypoint's map by ``target_weight``.
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, use_target_weight=True, loss_weight=1.0):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, output, target, target_weight=None):
        """Tensor[N, K, H, W] pred and target, Tensor[N, K, 1] weights -> scalar loss."""
        if not self.use_target_weight:
            return F.mse_loss(output, target) * self.loss_weight
        # Weight each map's mean rather than every pixel: one fused pass over the heatmaps.
        per_map = F.mse_loss(output, target, reduction='none').flatten(2).mean(-1)  # [N, K]
        return (per_map * target_weight.reshape(per_map.shape)).mean() * self.loss_weight
