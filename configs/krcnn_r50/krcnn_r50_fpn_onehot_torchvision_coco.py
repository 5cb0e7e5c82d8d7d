# torchvision's keypointrcnn_resnet50_fpn, layer for layer and number for number, for the checkpoints
# that tools/model_converters/torchvision2mmhrkpt.py makes from its state dicts (COCO_V1, COCO_LEGACY).
# The classic one-hot Keypoint R-CNN; where mmdet's own components compute something else than
# torchvision's, the torchvision variants of mmhrkpt/models are used (README, "Pretrained weights").
_base_ = './krcnn_r50_fpn_onehot_1x_coco.py'
model = dict(
    backbone=dict(
        # torchvision's FrozenBatchNorm2d (eps 1e-5); conv1 and layer1 stay frozen when fine-tuning,
        # as torchvision's trainable_backbone_layers=3
        norm_cfg=dict(type='FrozenBN', requires_grad=False),
        frozen_stages=1),
    rpn_head=dict(
        type='TorchvisionRPNHead',
        # sizes 32..512 (stride x 8), ratios h/w 0.5, 1, 2; rounded, with torchvision's strides
        anchor_generator=dict(type='TorchvisionAnchorGenerator'),
        bbox_coder=dict(_delete_=True, type='TorchvisionDeltaXYWHBBoxCoder', weights=(1.0, 1.0, 1.0, 1.0)),
        loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    roi_head=dict(
        # MultiScaleRoIAlign(['0', '1', '2', '3'], 7, sampling_ratio=2): aligned=False, levels by
        # torchvision's LevelMapper
        bbox_roi_extractor=dict(
            type='TorchvisionRoIExtractor',
            roi_layer=dict(type='TVRoIAlign', output_size=7, sampling_ratio=2, aligned=False)),
        bbox_head=dict(
            type='TorchvisionBBoxHead',
            bbox_coder=dict(
                _delete_=True, type='TorchvisionDeltaXYWHBBoxCoder', weights=(10.0, 10.0, 5.0, 5.0)),
            loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
        # the detected boxes as they are, 14 x 14 features (sampling_ratio=2, aligned=False)
        keypoint_roi_expand=dict(padding=1.0),
        keypoint_roi_extractor=dict(
            type='TorchvisionRoIExtractor',
            roi_layer=dict(type='TVRoIAlign', output_size=(14, 14), sampling_ratio=2, aligned=False)),
        # 8 x (3x3 conv 512 + ReLU), ConvTranspose2d(512, 17, 4, stride 2, padding 1), bilinear x2
        # (align_corners=False) to 56 x 56: OneHotKeypointHead's defaults; torchvision's decoding
        keypoint_head=dict(codec=dict(_delete_=True, type='TorchvisionOneHotHeatmap', heatmap_size=(56,
                                                                                                    56)))),
    train_cfg=dict(
        rpn_proposal=dict(
            nms_pre=2000,
            max_per_img=2000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=1e-3,
            score_thr=0.0)),
    test_cfg=dict(
        rpn=dict(
            nms_pre=1000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=1e-3,
            score_thr=0.0),
        rcnn=dict(
            score_thr=0.05,
            min_bbox_size=1e-2,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100,
            keypoint=dict(flip_test=False, rescore=False))))
# The dataset config's img_norm_cfg (mean 255 * (0.485, 0.456, 0.406), std 255 * (0.229, 0.224, 0.225),
# RGB) is torchvision's normalisation of [0, 1] RGB images; its test scale (1333, 800) is torchvision's
# min_size=800, max_size=1333, and both pad to multiples of 32.
