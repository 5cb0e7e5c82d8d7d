# The embedded synthetic people of tools/misc/make_synthetic.py (256x256 images, COCO's 17
# keypoints). Plain CocoKeypointDataset entries, so `--cfg-options data.train.ann_file=...
# data.train.img_prefix=...` points a config at other data.
dataset_type = 'CocoKeypointDataset'
data_root = 'data/synthetic/'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
meta_keys = ('filename', 'ori_filename', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
             'flip_direction', 'img_norm_cfg', 'keypoint_flip_pairs')
img_scale = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='LoadKeypointAnnotations', with_bbox=True, with_keypoints=True),
    dict(type='KeypointResize', img_scale=img_scale, keep_ratio=True),
    # No horizontal flip: a synthetic person's LEFT side is always warm-coloured, and a mirrored
    # image would show it on a person's right, so flipping would turn the clearest left/right cue
    # into a coin toss. For the same reason test_cfg.rcnn.keypoint.flip_test stays False. The
    # step stays, with flip_ratio=0, because it writes the 'flip' / 'flip_direction' meta that
    # Collect and the test-time code read.
    dict(type='KeypointRandomFlip', flip_ratio=0.0),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='KeypointFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_keypoints'], meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiScaleFlipAug',
        img_scale=img_scale,
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
        type=dataset_type,
        ann_file=data_root + 'annotations/person_keypoints_train.json',
        img_prefix=data_root + 'images/train/',
        # Small people (under 32x32 pixels of area) have a box but no keypoints, as in COCO: they
        # still train the box branch.
        min_keypoints=0,
        pipeline=train_pipeline),
    val=dict(
        type=dataset_type,
        ann_file=data_root + 'annotations/person_keypoints_val.json',
        img_prefix=data_root + 'images/val/',
        pipeline=test_pipeline),
    test=dict(
        type=dataset_type,
        ann_file=data_root + 'annotations/person_keypoints_val.json',
        img_prefix=data_root + 'images/val/',
        pipeline=test_pipeline))
evaluation = dict(interval=1, metric=['bbox', 'keypoints'], save_best='keypoints_AP', rule='greater')
