# Fine-tuning recipe: body, FPN, RPN and box head from torchvision's COCO Keypoint R-CNN (converted by
# tools/model_converters/torchvision2mmhrkpt.py), the Gaussian-heatmap keypoint head (MSRA, 64 x 48)
# new. The detector is COCO-trained already, so the schedule is short and its parts learn at a tenth of
# the new head's rate.
_base_ = './krcnn_r50_fpn_onehot_torchvision_coco.py'
heatmap_size = (64, 48)  # (H, W)
model = dict(
    backbone=dict(init_cfg=None),  # all of it comes from load_from
    roi_head=dict(
        # the heatmap branch of configs/_base_/models/krcnn_r50_fpn_heatmap.py
        keypoint_roi_expand=dict(padding=1.25),
        keypoint_roi_extractor=dict(
            _delete_=True,
            type='SingleLevelRoIExtractor',
            roi_layer=dict(type='SparseRoIAlign', output_size=(32, 24), sampling_ratio=2, aligned=True),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        keypoint_head=dict(
            _delete_=True,
            type='HeatmapKeypointHead',
            num_keypoints=17,
            in_channels=256,
            roi_feat_size=(32, 24),
            num_convs=4,
            conv_out_channels=256,
            num_deconvs=1,
            deconv_to_heatmaps=True,
            codec=dict(type='MSRAHeatmap', heatmap_size=heatmap_size, sigma=2.0),
            loss_keypoint=dict(type='HeatmapMSELoss', use_target_weight=True, loss_weight=3000.0))),
    train_cfg=dict(rcnn=dict(keypoint=dict(max_rois_per_img=64))),
    test_cfg=dict(rcnn=dict(keypoint=dict(flip_test=False, rescore=True, score_thr=0.2))))
# The converted checkpoint; its one-hot keypoint head (other shapes, same names) is left out.
load_from = 'checkpoints/krcnn_r50_fpn_onehot_torchvision_coco.pth'
load_from_exclude = ['roi_head.keypoint_head.']
# 16 images per iteration (8 GPUs x 2); 6 epochs, steps at 4 and 5.
optimizer = dict(
    lr=0.02,
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=0.1),
            'neck': dict(lr_mult=0.1),
            'rpn_head': dict(lr_mult=0.1),
            'roi_head.bbox_head': dict(lr_mult=0.1),
        }))
lr_config = dict(step=[4, 5])
runner = dict(max_epochs=6)
