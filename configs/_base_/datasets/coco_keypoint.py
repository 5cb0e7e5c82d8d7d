# COCO person keypoints (train2017 / val2017). The keypoint meta (names, flip pairs, skeleton, OKS
# sigmas) comes from the json's person category; give `dataset_info=dict(...)` for other sets.
dataset_type = 'CocoKeypointDataset'
data_root = 'data/coco/'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
meta_keys = ('filename', 'ori_filename', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
             'flip_direction', 'img_norm_cfg', 'keypoint_flip_pairs')
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='LoadKeypointAnnotations', with_bbox=True, with_keypoints=True),
    dict(
        type='KeypointResize', img_scale=[(1333, 640), (1333, 800)], multiscale_mode='range',
        keep_ratio=True),
    dict(type='KeypointRandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='KeypointFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_keypoints'], meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiScaleFlipAug',
        img_scale=(1333, 800),
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
    samples_per_gpu=2,
    workers_per_gpu=2,
    train=dict(
        type=dataset_type,
        ann_file=data_root + 'annotations/person_keypoints_train2017.json',
        img_prefix=data_root + 'train2017/',
        # Persons without labelled keypoints (COCO's small people, num_keypoints=0) still train
        # the box branch, as in detectron2; the keypoint loss only sees RoIs with a labelled one.
        min_keypoints=0,
        pipeline=train_pipeline),
    val=dict(
        type=dataset_type,
        ann_file=data_root + 'annotations/person_keypoints_val2017.json',
        img_prefix=data_root + 'val2017/',
        pipeline=test_pipeline),
    test=dict(
        type=dataset_type,
        ann_file=data_root + 'annotations/person_keypoints_val2017.json',
        img_prefix=data_root + 'val2017/',
        pipeline=test_pipeline))
evaluation = dict(interval=1, metric=['bbox', 'keypoints'], save_best='keypoints_AP', rule='greater')
