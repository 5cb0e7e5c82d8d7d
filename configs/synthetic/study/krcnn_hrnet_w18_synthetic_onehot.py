# Head/codec study (docs/study.md): the classic Keypoint R-CNN head on the demo recipe. One-hot 56x56
# keypoint masks with a spatial cross-entropy (Mask R-CNN / detectron2), its own RoI geometry (boxes as
# detected, no aspect-ratio expansion or padding, 14x14 RoI features -> deconvolution to 28x28 ->
# bilinear x2 to 56x56) and its own scoring (the box score, no keypoint rescoring). The backbone, neck,
# box branch, head width and depth (2 normalised 64-channel convs), schedule and seed are the demo's.
_base_ = '../krcnn_hrnet_w18_synthetic.py'
channels = 64
model = dict(
    roi_head=dict(
        keypoint_roi_expand=dict(padding=1.0),
        keypoint_roi_extractor=dict(roi_layer=dict(output_size=(14, 14))),
        keypoint_head=dict(
            _delete_=True,
            type='OneHotKeypointHead',
            num_keypoints=17,
            in_channels=channels,
            roi_feat_size=(14, 14),
            norm_cfg=dict(type='BN'),
            num_convs=2,
            conv_out_channels=channels,
            deconv_out_channels=channels,
            deconv_to_heatmaps=False,
            codec=dict(type='OneHotHeatmap', heatmap_size=(56, 56)),
            loss_keypoint=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    test_cfg=dict(rcnn=dict(keypoint=dict(rescore=False))))
