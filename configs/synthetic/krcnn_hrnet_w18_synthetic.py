# The embedded default (`make demo`): a slim HRNet-W18 Keypoint R-CNN trained from scratch on the
# synthetic people of tools/misc/make_synthetic.py (1200 train / 100 val images of 256x256) on 2 CPU
# cores: 1500 iterations of 4 images (5 epochs), evaluated after each epoch (README: time and AP).
# It shrinks what must shrink: a slimmer HRNet (fewer modules/blocks), 64-channel neck and heads,
# 16x12 keypoint RoI features, fewer RoIs (16 keypoint RoIs per image), and a short schedule.
_base_ = [
    '../_base_/models/krcnn_hrnet_w18_hrfpn_heatmap.py',
    '../_base_/datasets/synthetic_keypoint.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
channels = 64
model = dict(
    # NHWC memory layout for oneDNN's CPU convolutions and SparseRoIAlign's pixel-major products
    # (docs/benchmarks.md has the profile).
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
        # (detectron2 also ends with a bilinear x2): a quarter of the head's convolution work of
        # 32x24 features.
        keypoint_roi_extractor=dict(
            out_channels=channels, roi_layer=dict(type='SparseRoIAlign', output_size=(16, 12))),
        keypoint_head=dict(
            in_channels=channels,
            roi_feat_size=(16, 12),
            norm_cfg=dict(type='BN'),  # from scratch: normalised head convs learn much faster
            num_convs=2,
            conv_out_channels=channels,
            deconv_out_channels=channels,
            deconv_to_heatmaps=False,  # a 64-wide deconvolution, then a 1x1 conv to the heatmaps
            codec=dict(_delete_=True, type='DarkHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        # 16 keypoint RoIs per image, not 32: the keypoint branch (head, loss, RoIAlign backward) costs
        # half as much and the keypoint AP did not drop (docs/experiments.md).
        rcnn=dict(sampler=dict(num=128), keypoint=dict(max_rois_per_img=16))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=300), rcnn=dict(max_per_img=20)))

# Training in bfloat16 autocast where the CPU computes it natively (AVX512-BF16 / AMX; elsewhere the log
# says why not and training runs in float32): the same keypoint AP in less time (docs/experiments.md).
# Heatmaps, targets, the loss and decoding stay float32 (mmhrkpt/engine/cpu_bf16.py).
cpu_bf16 = True
optimizer = dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=1e-4)
optimizer_config = dict(grad_clip=dict(max_norm=10, norm_type=2))
# The LR steps at fractions of the training (mmhrkpt's FractionStep), so they follow the dataset's
# size: with 1200 images, 5 epochs of 300 iterations, at iterations 1190 and 1425 of 1500. The warm-up
# is counted in iterations.
lr_config = dict(
    policy='FractionStep',
    warmup='linear',
    warmup_iters=100,
    warmup_ratio=0.01,
    step=[1190 / 1500, 1425 / 1500])
# Atomic checkpoints that also carry the RNG state (mmhrkpt/engine/runner.py).
runner = dict(type='AtomicEpochBasedRunner', max_epochs=5)
evaluation = dict(interval=1)  # every epoch: the keypoint-AP curve in curves.png
checkpoint_config = dict(interval=1, max_keep_ckpts=2)
log_config = dict(interval=10)
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='FiniteLossHook', priority='VERY_HIGH'),
    dict(type='KeypointVisualizationHook', interval=5, num_images=4),
    # a line with the expected time left and the keypoint AP so far, at the start and every epoch
    dict(type='TrainingProgressHook'),
]
