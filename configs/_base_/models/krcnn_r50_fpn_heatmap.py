# Keypoint R-CNN, R50-FPN, with the Gaussian-heatmap keypoint head (MSRA codec).
# Box branch and RPN as mmdet's Faster R-CNN R50-FPN with one class (person).
heatmap_size = (64, 48)  # (H, W) throughout mmhrkpt
model = dict(
    type='KeypointRCNN',
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5),
    rpn_head=dict(
        type='RPNHead',
        in_channels=256,
        feat_channels=256,
        anchor_generator=dict(
            type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='KeypointRoIHead',
        # SingleLevelRoIExtractor: mmdet's SingleRoIExtractor (same levels, same output) without its
        # per-empty-level copies; SparseRoIAlign: mmcv's RoIAlign (equal output and gradient) as two
        # sparse matrix products on CPU (faster backward than torchvision's loop: docs/benchmarks.md),
        # torchvision's kernel on GPU. See mmhrkpt/ops.
        bbox_roi_extractor=dict(
            type='SingleLevelRoIExtractor',
            roi_layer=dict(type='SparseRoIAlign', output_size=7, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=1,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        # Keypoint RoIs: expanded to the heatmap's W:H (3:4) and padded x1.25, then pooled from the
        # feature levels below with RoIAlign (aligned=True: the continuous pixel convention).
        keypoint_roi_expand=dict(padding=1.25),
        keypoint_roi_extractor=dict(
            type='SingleLevelRoIExtractor',
            roi_layer=dict(type='SparseRoIAlign', output_size=(32, 24), sampling_ratio=2, aligned=True),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        keypoint_head=dict(
            type='HeatmapKeypointHead',
            num_keypoints=17,
            in_channels=256,
            roi_feat_size=(32, 24),
            num_convs=4,
            conv_out_channels=256,
            # 4 convs x 256 at 32x24, then one deconvolution straight to the 17 heatmaps at 64x48
            # (detectron2's ending; mmpose's is a 256-wide deconvolution and a 1x1 conv, which
            # makes a 256-channel map at the heatmap size for every RoI: docs/benchmarks.md).
            num_deconvs=1,
            deconv_to_heatmaps=True,
            codec=dict(type='MSRAHeatmap', heatmap_size=heatmap_size, sigma=2.0),
            # mmpose's JointsMSELoss without its loop over keypoints (equal values and gradients);
            # type='mmpose.JointsMSELoss' is a drop-in replacement. The MSE of Gaussian heatmaps
            # is small, so it needs a large weight beside the box losses: 3000, chosen by
            # measurement (README).
            loss_keypoint=dict(type='HeatmapMSELoss', use_target_weight=True, loss_weight=3000.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,
                neg_iou_thr=0.3,
                min_pos_iou=0.3,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1, add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            nms_pre=2000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1, add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False,
            # At most this many positive RoIs per image train the keypoint branch.
            keypoint=dict(max_rois_per_img=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100,
            # rescore: instance score = box score * mean(keypoint scores > score_thr) (mmpose's);
            # flip_test: average with the flipped image's heatmaps.
            keypoint=dict(flip_test=False, rescore=True, score_thr=0.2))))
