"""Writing the synthetic people as a COCO person-keypoints data set (images and json).

Small people (area < ``min_keypoint_area``, by default COCO's 32**2) keep their box but carry no
keypoints (num_keypoints=0, all (0, 0, 0)), as in COCO, whose annotators left the keypoints of
small people out; COCOeval then ignores them in keypoint AP (and still counts them in box AP). No
segmentation is written.

Each image has its own generator ``np.random.default_rng([seed, split, index])``, so a seed gives
byte-identical files and image ``i`` of a split does not depend on how many images are made.

Letters: K = 17 COCO keypoints.
"""
import json
import os
import os.path as osp

import cv2
import mmcv
import numpy as np

from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES, COCO_SKELETON
from mmhrkpt.testing.synthetic.preview import save_preview
from mmhrkpt.testing.synthetic.render import synthesize_image

SPLITS = ('train', 'val')
JPEG_QUALITY = 95
PNG_COMPRESSION = 3
IMAGE_ENCODINGS = {
    '.jpg': [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
    '.png': [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION]
}
PERSON_CATEGORY_ID = 1


def coco_categories():
    """The COCO ``categories`` entry for people, with keypoint names and the skeleton (1-based, as
    in COCO's person_keypoints_*.json)."""
    return [
        dict(
            supercategory='person',
            id=PERSON_CATEGORY_ID,
            name='person',
            keypoints=list(COCO_KEYPOINT_NAMES),
            skeleton=[[i + 1, j + 1] for i, j in COCO_SKELETON])
    ]


def _coco_keypoints(keypoints):
    """float[K, 3] -> COCO's flat list: x, y rounded to 1/100 pixel, v an int; (0, 0, 0) if v=0."""
    flat = []
    for x, y, v in keypoints:
        flat += [round(float(x), 2), round(float(y), 2), int(v)] if v > 0 else [0, 0, 0]
    return flat


def _write_image(path, image, img_ext):
    """Encode uint8 BGR ``image`` [H, W, 3] as ``img_ext`` and write it to ``path``."""
    ok, data = cv2.imencode(img_ext, image, IMAGE_ENCODINGS[img_ext])
    if not ok:
        raise RuntimeError(f'OpenCV could not encode {path}')
    with open(path, 'wb') as f:
        f.write(data.tobytes())


def _person_annotation(person, ann_id, image_id, min_keypoint_area):
    """One COCO annotation of a drawn person (``synthesize_image``'s dicts)."""
    if person['area'] < min_keypoint_area:
        person = dict(person, keypoints=np.zeros_like(person['keypoints']))
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=PERSON_CATEGORY_ID,
        bbox=person['bbox'],
        area=person['area'],
        iscrowd=0,
        num_keypoints=int((person['keypoints'][:, 2] > 0).sum()),
        keypoints=_coco_keypoints(person['keypoints']))


def _split_counts(images, annotations, min_keypoint_area):
    """Image, person and keypoint counts of one split (see ``generate_synthetic_coco``)."""
    vis = np.array([a['keypoints'][2::3] for a in annotations]).reshape(-1)
    return dict(
        num_images=len(images),
        num_persons=len(annotations),
        num_keypoints=int((vis > 0).sum()),
        num_visible=int((vis == 2).sum()),
        num_occluded=int((vis == 1).sum()),
        num_unlabelled=int((vis == 0).sum()),
        num_small=sum(a['area'] < min_keypoint_area for a in annotations))


def generate_synthetic_coco(out_dir,
                            num_train,
                            num_val,
                            seed=0,
                            image_size=(256, 256),
                            person_height=(0.18, 0.8),
                            max_persons=4,
                            max_occluders=3,
                            min_keypoint_area=32**2,
                            img_ext='.jpg',
                            preview=True,
                            progress=True):
    """Write a synthetic COCO-keypoints data set.

    Layout::

        out_dir/images/{train,val}/000000000001.jpg ...
        out_dir/annotations/person_keypoints_{train,val}.json
        out_dir/preview.png            (if ``preview``)

    Args:
        out_dir (str): root folder (created).
        num_train (int): number of train images.
        num_val (int): number of val images.
        seed (int): a seed gives byte-identical files.
        image_size (tuple[int]): (H, W) of every image.
        person_height (tuple[float]): standing height range, fraction of min(H, W).
        max_persons (int): each image shows 1 .. max_persons people.
        max_occluders (int): each image has 0 .. max_occluders occluders.
        min_keypoint_area (int): people whose area is smaller keep their box but no keypoints
            (COCO's convention for small people); 0 labels everybody.
        img_ext (str): '.jpg' (quality ``JPEG_QUALITY``) or '.png'.
        preview (bool): also save a grid of train images with their ground truth drawn.
        progress (bool): show a progress bar.

    Returns:
        dict: ``{'train': {...}, 'val': {...}, 'preview': path or None}`` where each split has
        ``ann_file``, ``img_prefix`` and counts ``num_images``, ``num_persons``, ``num_keypoints``
        (labelled, v > 0), ``num_visible`` (v=2), ``num_occluded`` (v=1), ``num_unlabelled`` (v=0),
        ``num_small`` (persons under ``min_keypoint_area``).
    """
    if img_ext not in IMAGE_ENCODINGS:
        raise ValueError(f'img_ext must be one of {sorted(IMAGE_ENCODINGS)}, got {img_ext!r}')
    height, width = (int(v) for v in image_size)
    out = {}
    for split_index, (split, num) in enumerate(zip(SPLITS, (num_train, num_val))):
        img_prefix = osp.join(out_dir, 'images', split)
        ann_file = osp.join(out_dir, 'annotations', f'person_keypoints_{split}.json')
        os.makedirs(img_prefix, exist_ok=True)
        os.makedirs(osp.dirname(ann_file), exist_ok=True)
        images, annotations = [], []
        bar = None
        if progress and num > 0:
            print(f'synthetic {split}:')
            bar = mmcv.ProgressBar(num)
        for index in range(num):
            rng = np.random.default_rng([int(seed), split_index, index])
            image, people = synthesize_image(rng, (height, width), person_height, max_persons, max_occluders)
            image_id = index + 1
            file_name = f'{image_id:012d}{img_ext}'
            _write_image(osp.join(img_prefix, file_name), image, img_ext)
            images.append(dict(id=image_id, file_name=file_name, height=height, width=width))
            for person in people:
                annotations.append(
                    _person_annotation(person,
                                       len(annotations) + 1, image_id, min_keypoint_area))
            if bar is not None:
                bar.update()
        if bar is not None:
            print()
        dataset = dict(
            info=dict(
                description=f'mmhrkpt synthetic people, {split}, seed {seed}', version='1.0', year=2024),
            licenses=[],
            images=images,
            annotations=annotations,
            categories=coco_categories())
        with open(ann_file, 'w') as f:
            json.dump(dataset, f, separators=(',', ':'))
        out[split] = dict(
            ann_file=ann_file, img_prefix=img_prefix, **_split_counts(images, annotations, min_keypoint_area))
    out['preview'] = None
    if preview and num_train > 0:
        out['preview'] = osp.join(out_dir, 'preview.png')
        save_preview(out['train']['ann_file'], out['train']['img_prefix'], out['preview'])
    return out
