"""What the dataset converters share: the COCO person-keypoints json they write.

Letters: K keypoints. Keypoints are COCO's: integer-pixel (x, y) and v = 0 (unlabelled, written as
0, 0, 0), 1 (labelled, occluded) or 2 (labelled, visible).
"""
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

from mmhrkpt.datasets.keypoint_meta import resolve_keypoint_meta


def keypoint_category(meta):
    """COCO's person category for the keypoints of a dataset meta (e.g. ``'mmpose::mpii'``): the
    keypoint names and the 1-based skeleton, so that the json describes itself."""
    info = resolve_keypoint_meta(meta)
    return dict(
        id=1,
        name='person',
        supercategory='person',
        keypoints=list(info['keypoint_names']),
        skeleton=[[i + 1, j + 1] for i, j in info['skeleton']])


def image_size(img_dir, file_name):
    """(width, height) of an image, read from its header (the pixels are not decoded)."""
    path = osp.join(img_dir, file_name)
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f'cannot read the size of image {path}: {err}') from None


def person_annotation(ann_id, image_id, bbox, keypoints):
    """One COCO person annotation.

    Args:
        bbox (Sequence[float]): x, y, w, h.
        keypoints (np.ndarray[K, 3]): x, y, v; rows with v = 0 are written as (0, 0, 0).
    """
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3).copy()
    keypoints[keypoints[:, 2] == 0] = 0
    x, y, w, h = (float(v) for v in bbox)
    flat = [int(round(v)) if i % 3 == 2 else round(float(v), 2) for i, v in enumerate(keypoints.reshape(-1))]
    return dict(
        id=int(ann_id),
        image_id=int(image_id),
        category_id=1,
        bbox=[x, y, w, h],
        area=w * h,
        iscrowd=0,
        num_keypoints=int(np.count_nonzero(keypoints[:, 2] > 0)),
        keypoints=flat)


def write_coco(out_file, images, annotations, category):
    """Write ``{'images', 'annotations', 'categories'}`` to ``out_file`` (folders are made)."""
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    with open(out_file, 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=[category]), f)
    print(f'wrote {out_file}: {len(images)} images, {len(annotations)} persons, '
          f"K={len(category['keypoints'])}")
