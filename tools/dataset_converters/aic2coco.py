"""AI Challenger keypoints (``keypoint_{train,validation}_annotations_*.json``) -> a COCO
person-keypoints json.

    python tools/dataset_converters/aic2coco.py \
        data/aic/annotations/keypoint_train_annotations_20170909.json \
        data/aic/ai_challenger_keypoint_train_20170902/keypoint_train_images_20170902 \
        data/aic/annotations/aic_train_coco.json

The 14 keypoints keep AI Challenger's order (right shoulder, ..., head top, neck), the order of
mmpose's AIC meta: train with ``dataset_info='mmpose::aic'``. AI Challenger's visibility 1 (visible),
2 (occluded) and 3 (not labelled) become COCO's 2, 1 and 0; its person boxes (x1, y1, x2, y2) become
COCO's (x, y, w, h). Images are ``<image_id>.jpg``; their sizes are read from the image files.
"""
import argparse
import os
import sys

import mmcv
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coco_format import image_size, keypoint_category, person_annotation, write_coco  # noqa: E402

NUM_KEYPOINTS = 14
# AI Challenger's visibility -> COCO's
AIC_TO_COCO_VISIBILITY = {1: 2, 2: 1, 3: 0}


def _person(entry, human, where):
    """(bbox x y w h, keypoints np.ndarray[14, 3]) of one person of an AI Challenger entry."""
    box = entry.get('human_annotations', {}).get(human)
    kpts = entry['keypoint_annotations'][human]
    if not isinstance(box, list) or len(box) != 4:
        raise ValueError(f"{where}: 'human_annotations' has no box [x1, y1, x2, y2] for {human}, "
                         f'got {box!r:.60}')
    if not isinstance(kpts, list) or len(kpts) != 3 * NUM_KEYPOINTS:
        raise ValueError(f"{where}: 'keypoint_annotations' of {human} must be {3 * NUM_KEYPOINTS} "
                         f'numbers, got {kpts!r:.60}')
    keypoints = np.asarray(kpts, dtype=np.float64).reshape(NUM_KEYPOINTS, 3)
    visibility = keypoints[:, 2]
    bad = sorted(set(visibility.tolist()) - set(AIC_TO_COCO_VISIBILITY))
    if bad:
        raise ValueError(f'{where}: {human} has visibility flags {bad}, expected 1, 2 or 3')
    keypoints[:, 2] = [AIC_TO_COCO_VISIBILITY[int(v)] for v in visibility]
    x1, y1, x2, y2 = (float(v) for v in box)
    return [x1, y1, x2 - x1, y2 - y1], keypoints


def convert(ann_file, img_dir):
    """Returns (images, annotations) in COCO's format."""
    entries = mmcv.load(ann_file)
    if not isinstance(entries, list):
        raise ValueError(f'{ann_file}: expected a list of images, got {type(entries).__name__}')
    images, annotations = [], []
    for index in mmcv.track_iter_progress(range(len(entries))):
        entry = entries[index]
        where = f"{ann_file}: image {entry.get('image_id')!r}"
        if 'image_id' not in entry or not isinstance(entry.get('keypoint_annotations'), dict):
            raise ValueError(f"{where}: needs 'image_id' and 'keypoint_annotations'")
        file_name = f"{entry['image_id']}.jpg"
        width, height = image_size(img_dir, file_name)
        image_id = index + 1
        images.append(dict(id=image_id, file_name=file_name, width=width, height=height))
        for human in entry['keypoint_annotations']:  # the file's order
            bbox, keypoints = _person(entry, human, where)
            annotations.append(person_annotation(len(annotations) + 1, image_id, bbox, keypoints))
    return images, annotations


def main(argv=None):
    parser = argparse.ArgumentParser(description='AI Challenger keypoint json -> COCO keypoint json')
    parser.add_argument('ann_file', help="AI Challenger's keypoint annotations json")
    parser.add_argument('img_dir', help='the folder of its images (their sizes are read)')
    parser.add_argument('out_file', help='the COCO json to write')
    args = parser.parse_args(argv)
    images, annotations = convert(args.ann_file, args.img_dir)
    write_coco(args.out_file, images, annotations, keypoint_category('mmpose::aic'))


if __name__ == '__main__':
    main()
