# The embedded default (`make demo`): HRNet-W18 Keypoint R-CNN on the synthetic people of
# tools/make_synthetic.py (1200 train / 100 val images of 256x256), trained from scratch on 2 CPU
# cores: 1500 iterations of 4 images (5 epochs), evaluated after each epoch (README: measured time
# and AP).
# It inherits the real W18 model and COCO dataset configs and shrinks what must shrink:
# 256x256 images, a slimmer HRNet (fewer modules/blocks), 64-channel neck and heads, 16x12 keypoint
# RoI features, fewer RoIs, and a short schedule. data.{train,val,test} are plain CocoKeypointDataset
# entries, so `--cfg-options data.train.ann_file=... data.train.img_prefix=...` points it at other
# data.
_base_ = [
    '../krcnn_hrnet/krcnn_hrnet_w18_hrfpn_heatmap_1x_coco.py',
]
channels = 64
model = dict(
    # NHWC memory layout for oneDNN's CPU convolutions and SparseRoIAlign's pixel-major products:
    # 0.925 -> 0.847 s per iteration (channels_last) -> 0.679 s (SparseRoIAlign for both RoI
    # extractors), `tools/analysis_tools/benchmark.py profile` of this config (docs/benchmarks.md).
    channels_last=True,
    backbone=dict(
        extra=dict(
            stage1=dict(num_channels=(32, ), num_blocks=(2, )),
            stage2=dict(num_blocks=(2, 2)),
            stage3=dict(num_modules=1, num_blocks=(2, 2, 2)),
            stage4=dict(num_modules=1, num_blocks=(2, 2, 2, 2))),
        norm_eval=False,  # trained from scratch: BN uses batch statistics
        init_cfg=None),
    neck=dict(out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels, roi_layer=dict(type='SparseRoIAlign')),
        bbox_head=dict(in_channels=channels, fc_out_channels=256),
        # 16x12 RoI features, one deconvolution to 32x24 and a bilinear x2 to the 64x48 heatmaps
        # (detectron2 also ends with a bilinear x2): 0.90 s per iteration instead of 1.35 s with
        # 32x24 features over the first 40 iterations of the same training.
        keypoint_roi_extractor=dict(
            out_channels=channels, roi_layer=dict(type='SparseRoIAlign', output_size=(16, 12))),
        keypoint_head=dict(
            in_channels=channels,
            roi_feat_size=(16, 12),
            norm_cfg=dict(type='BN'),  # from scratch: normalised head convs learn much faster
            num_convs=2,
            conv_out_channels=channels,
            deconv_out_channels=channels,
            deconv_to_heatmaps=False,  # the layout the README's demo figures were measured with
            codec=dict(_delete_=True, type='DarkHeatmap', heatmap_size=(64, 48), sigma=2.0,
                       kernel=11))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128), keypoint=dict(max_rois_per_img=32))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=300), rcnn=dict(max_per_img=20)))

data_root = 'data/synthetic/'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
meta_keys = ('filename', 'ori_filename', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
             'flip', 'flip_direction', 'img_norm_cfg', 'keypoint_flip_pairs')
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='LoadKeypointAnnotations', with_bbox=True, with_keypoints=True),
    dict(type='KeypointResize', img_scale=(256, 256), keep_ratio=True),
    # No horizontal flip: a synthetic person's LEFT side is always warm-coloured, and a mirrored
    # image would show it on a person's right, so flipping turns the clearest left/right cue into a
    # coin toss (trained with flips, left/right swaps of the limbs were the largest error). For the
    # same reason test_cfg.rcnn.keypoint.flip_test stays False. Real data keeps mmdet's flip
    # (configs/_base_/datasets/coco_keypoint.py). The step stays, with flip_ratio=0, because it
    # writes the 'flip' / 'flip_direction' meta that Collect and the test-time code read.
    dict(type='KeypointRandomFlip', flip_ratio=0.0),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='KeypointFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_keypoints'],
         meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiScaleFlipAug',
        img_scale=(256, 256),
        flip=False,
        transforms=[
            dict(type='Resize', keep_ratio=True),
            dict(type='RandomFlip'),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='ImageToTensor', keys=['img']),
            dict(type='Collect', keys=['img'], meta_keys=meta_keys),
        ]),
]
data = dict(
    samples_per_gpu=4,
    workers_per_gpu=1,
    train=dict(
        ann_file=data_root + 'annotations/person_keypoints_train.json',
        img_prefix=data_root + 'images/train/',
        pipeline=train_pipeline),
    val=dict(
        ann_file=data_root + 'annotations/person_keypoints_val.json',
        img_prefix=data_root + 'images/val/',
        pipeline=test_pipeline),
    test=dict(
        ann_file=data_root + 'annotations/person_keypoints_val.json',
        img_prefix=data_root + 'images/val/',
        pipeline=test_pipeline))

optimizer = dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=1e-4)
optimizer_config = dict(grad_clip=dict(max_norm=10, norm_type=2))
# 5 epochs of 300 iterations; the LR steps (at 79 % and 95 %) are counted in iterations.
lr_config = dict(policy='step', by_epoch=False, warmup='linear', warmup_iters=100,
                 warmup_ratio=0.01, step=[1190, 1425])
# Atomic checkpoints that also carry the RNG state (mmhrkpt/core/runner.py).
runner = dict(type='AtomicEpochBasedRunner', max_epochs=5)
evaluation = dict(interval=1)  # ~13 s each on 2 cores: the keypoint-AP curve in curves.png
checkpoint_config = dict(interval=1, max_keep_ckpts=2)
log_config = dict(interval=10)
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='FiniteLossHook', priority='VERY_HIGH'),
    dict(type='KeypointVisualizationHook', interval=5, num_images=4),
]
