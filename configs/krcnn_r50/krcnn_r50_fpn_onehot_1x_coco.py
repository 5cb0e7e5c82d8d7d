# The classic Keypoint R-CNN baseline (Mask R-CNN / detectron2): one-hot 56x56 keypoint masks with a
# spatial cross-entropy, RoIs as detected (no aspect expansion, no padding), 14x14 RoI features.
_base_ = './krcnn_r50_fpn_heatmap_1x_coco.py'
model = dict(
    roi_head=dict(
        keypoint_roi_expand=dict(padding=1.0),
        keypoint_roi_extractor=dict(
            roi_layer=dict(type='SparseRoIAlign', output_size=(14, 14), sampling_ratio=0, aligned=True)),
        keypoint_head=dict(
            _delete_=True,
            type='OneHotKeypointHead',
            num_keypoints=17,
            in_channels=256,
            roi_feat_size=(14, 14),
            num_convs=8,
            conv_out_channels=512,
            codec=dict(type='OneHotHeatmap', heatmap_size=(56, 56)),
            loss_keypoint=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    test_cfg=dict(rcnn=dict(keypoint=dict(rescore=False))))
