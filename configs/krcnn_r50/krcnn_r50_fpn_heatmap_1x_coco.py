# R50-FPN Keypoint R-CNN with the Gaussian-heatmap keypoint head (MSRA), COCO 1x.
_base_ = [
    '../_base_/models/krcnn_r50_fpn_heatmap.py',
    '../_base_/datasets/coco_keypoint.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
