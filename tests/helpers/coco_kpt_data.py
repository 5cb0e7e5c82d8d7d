"""Helpers writing small COCO-format keypoint datasets (images drawn with numpy, saved by cv2)."""
import json
import os
import os.path as osp

import cv2
import numpy as np

import mmhrkpt.datasets  # noqa: F401 (registers the dataset and pipeline steps)
from mmhrkpt.datasets import COCO_KEYPOINT_NAMES

IMG_W, IMG_H = 80, 60

# The 14 keypoints of CrowdPose, a K != 17 dataset.
CROWDPOSE_NAMES = ('left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist',
                   'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                   'right_ankle', 'head', 'neck')
CROWDPOSE_SIGMAS = [.079, .079, .072, .072, .062, .062, 0.107, 0.107, .087, .087, .089, .089, .079, .079]


def flat_keypoints(num_keypoints, labelled):
    """COCO's flat [3K] list: ``labelled`` maps keypoint index -> (x, y, v), the rest are 0."""
    flat = [0] * (3 * num_keypoints)
    for k, (x, y, v) in labelled.items():
        flat[3 * k:3 * k + 3] = [x, y, v]
    return flat


def person(ann_id, image_id, bbox, labelled, num_keypoints=17, iscrowd=0):
    flat = flat_keypoints(num_keypoints, labelled)
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=1,
        bbox=list(bbox),
        iscrowd=iscrowd,
        area=float(bbox[2] * bbox[3]),
        keypoints=flat,
        num_keypoints=sum(1 for v in flat[2::3] if v > 0))


def write_coco(root,
               images,
               annotations,
               keypoint_names=COCO_KEYPOINT_NAMES,
               skeleton=None,
               write_images=True):
    """Write ``root/ann.json`` and (if asked) one random image per entry of ``images``.

    Args:
        images (list[tuple]): (id, file_name[, width, height]).

    Returns:
        tuple[str, str]: the json path and the image prefix.
    """
    img_dir = osp.join(str(root), 'images')
    infos = []
    rng = np.random.RandomState(0)
    for entry in images:
        img_id, file_name = entry[:2]
        width, height = entry[2:] if len(entry) > 2 else (IMG_W, IMG_H)
        infos.append(dict(id=img_id, file_name=file_name, width=width, height=height))
        if write_images:
            os.makedirs(img_dir, exist_ok=True)
            img = rng.randint(0, 255, (height, width, 3)).astype(np.uint8)
            cv2.imwrite(osp.join(img_dir, file_name), img)
    category = dict(id=1, name='person', supercategory='person', keypoints=list(keypoint_names))
    if skeleton is not None:
        category['skeleton'] = skeleton
    ann_file = osp.join(str(root), 'ann.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(images=infos, annotations=annotations, categories=[category]), f)
    return ann_file, img_dir + '/'


# COCO's 1-based skeleton (first edges only: enough to check the conversion).
COCO_SKELETON_1BASED = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13]]
