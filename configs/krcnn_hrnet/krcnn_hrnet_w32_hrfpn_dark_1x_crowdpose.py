# HRNet-W32 + HRFPN Keypoint R-CNN with DARK heatmaps on CrowdPose (14 keypoints, trainval -> test),
# the COCO 1x schedule. The keypoint loss is weighted per keypoint by the meta's joint weights.
_base_ = [
    '../_base_/models/krcnn_hrnet_w32_hrfpn_heatmap.py',
    '../_base_/datasets/crowdpose_keypoint.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
model = dict(
    roi_head=dict(
        keypoint_head=dict(
            num_keypoints=14,
            codec=dict(
                _delete_=True, type='DarkHeatmap', heatmap_size={{_base_.heatmap_size}}, sigma=2.0,
                kernel=11))))
