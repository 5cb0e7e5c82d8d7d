# HRNet-W18 + HRFPN Keypoint R-CNN, Gaussian heatmaps (64x48), MSRA encoding/decoding, COCO 1x.
_base_ = [
    '../_base_/models/krcnn_hrnet_w18_hrfpn_heatmap.py',
    '../_base_/datasets/coco_keypoint.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
