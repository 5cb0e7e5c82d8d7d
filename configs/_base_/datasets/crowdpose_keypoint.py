# CrowdPose (official files: data/crowdpose/json/crowdpose_{trainval,test}.json, images/). The keypoint
# meta (14 names, flip pairs, skeleton, OKS sigmas, joint weights) is mmpose's CrowdPose file; the
# evaluation is CrowdPose's own (xtcocotools 'keypoints_crowd': AP, AR, AP easy / medium / hard).
# Pipelines are the COCO ones.
_base_ = './coco_keypoint.py'
dataset_type = 'CrowdPoseKeypointDataset'
data_root = 'data/crowdpose/'
crowdpose_meta = 'mmpose::crowdpose'
data = dict(
    train=dict(
        type=dataset_type,
        ann_file=data_root + 'json/crowdpose_trainval.json',
        img_prefix=data_root + 'images/',
        dataset_info=crowdpose_meta),
    val=dict(
        type=dataset_type,
        ann_file=data_root + 'json/crowdpose_test.json',
        img_prefix=data_root + 'images/',
        dataset_info=crowdpose_meta),
    test=dict(
        type=dataset_type,
        ann_file=data_root + 'json/crowdpose_test.json',
        img_prefix=data_root + 'images/',
        dataset_info=crowdpose_meta))
