"""MPII Human Pose (``mpii_human_pose_v1_u12_1.mat``) -> a COCO person-keypoints json.

    python tools/dataset_converters/mpii2coco.py data/mpii/mpii_human_pose_v1_u12_1.mat \
        data/mpii/images data/mpii/annotations/mpii_train_coco.json [--split train|all] [--pad 0.1]

The 16 keypoints keep MPII's joint ids (0 r_ankle, ..., 15 l_wrist), the order of mmpose's MPII meta:
train with ``dataset_info='mmpose::mpii'``. MPII is annotated in MATLAB's 1-based pixels: one is
subtracted to get COCO's 0-based pixel indices. Joints without ``is_visible`` = 0 are visible (v = 2),
the others occluded (v = 1); absent joints are unlabelled. MPII gives no person boxes: the box is the
extent of the person's joints and head box, grown by ``--pad`` of its size on every side and clipped to
the image (whose size is read from the image file). Persons without joint annotations (the test set's
and a few others) are left out; ``--split train`` (default) keeps the images MPII marks as training.
"""
import argparse
import os
import sys

import mmcv
import numpy as np
from scipy.io import loadmat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coco_format import image_size, keypoint_category, person_annotation, write_coco  # noqa: E402

NUM_JOINTS = 16
MATLAB_ORIGIN = 1.0  # MPII's pixel coordinates count from 1


def _items(value):
    """A MATLAB struct array (or a single struct, or nothing) as a list of structs."""
    if isinstance(value, np.ndarray):
        return [v for v in value.reshape(-1)]
    return [] if value is None else [value]


def _number(value, default=None):
    arr = np.asarray(value)
    if arr.size != 1:
        return default
    try:
        return float(arr.reshape(-1)[0])
    except (TypeError, ValueError):
        return default


def _joints(rect, where):
    """np.ndarray[16, 3] (x, y, v) of one MPII person in 0-based pixels, or None without joints."""
    points = _items(getattr(getattr(rect, 'annopoints', None), 'point', None))
    if not points:
        return None
    joints = np.zeros((NUM_JOINTS, 3))
    for point in points:
        joint_id = _number(point.id)
        if joint_id is None or not 0 <= joint_id < NUM_JOINTS or joint_id != int(joint_id):
            raise ValueError(f'{where}: joint id {point.id!r} is not in 0..{NUM_JOINTS - 1}')
        visible = _number(getattr(point, 'is_visible', None), default=1.0)
        joints[int(joint_id)] = (_number(point.x) - MATLAB_ORIGIN, _number(point.y) - MATLAB_ORIGIN,
                                 1 if visible == 0 else 2)
    return joints


def _box(rect, joints, width, height, pad):
    """x, y, w, h around the joints and the head box, padded, clipped to the image."""
    labelled = joints[joints[:, 2] > 0, :2]
    head = [_number(getattr(rect, k, None)) for k in ('x1', 'y1', 'x2', 'y2')]
    corners = [labelled]
    if None not in head:
        corners.append(np.array(head).reshape(2, 2) - MATLAB_ORIGIN)
    points = np.concatenate(corners)
    (x1, y1), (x2, y2) = points.min(0), points.max(0)
    dx, dy = (x2 - x1) * pad, (y2 - y1) * pad
    x1, y1 = max(0.0, x1 - dx), max(0.0, y1 - dy)
    x2, y2 = min(float(width), x2 + dx), min(float(height), y2 + dy)
    return [x1, y1, x2 - x1, y2 - y1]


def convert(mat_file, img_dir, split='train', pad=0.1):
    """Returns (images, annotations) in COCO's format."""
    release = loadmat(mat_file, struct_as_record=False, squeeze_me=True)['RELEASE']
    annolist = _items(release.annolist)
    is_train = np.asarray(release.img_train).reshape(-1)
    if len(is_train) != len(annolist):
        raise ValueError(f'{mat_file}: img_train has {len(is_train)} entries for {len(annolist)} '
                         'images')
    images, annotations = [], []
    for index in mmcv.track_iter_progress(range(len(annolist))):
        if split == 'train' and not is_train[index]:
            continue
        entry = annolist[index]
        file_name = str(entry.image.name)
        persons = []
        for n, rect in enumerate(_items(getattr(entry, 'annorect', None))):
            joints = _joints(rect, f'{mat_file}: image {file_name}, person {n}')
            if joints is not None and (joints[:, 2] > 0).any():
                persons.append((rect, joints))
        if not persons:
            continue
        width, height = image_size(img_dir, file_name)
        image_id = index + 1
        images.append(dict(id=image_id, file_name=file_name, width=width, height=height))
        for rect, joints in persons:
            annotations.append(
                person_annotation(
                    len(annotations) + 1, image_id, _box(rect, joints, width, height, pad), joints))
    return images, annotations


def main(argv=None):
    parser = argparse.ArgumentParser(description='MPII .mat -> COCO keypoint json')
    parser.add_argument('mat_file', help='mpii_human_pose_v1_u12_1.mat')
    parser.add_argument('img_dir', help='the folder of the MPII images (their sizes are read)')
    parser.add_argument('out_file', help='the COCO json to write')
    parser.add_argument(
        '--split',
        choices=['train', 'all'],
        default='train',
        help="train: the images MPII marks img_train=1; all: every annotated one")
    parser.add_argument(
        '--pad',
        type=float,
        default=0.1,
        help='box margin on each side, as a fraction of the joints\' extent')
    args = parser.parse_args(argv)
    images, annotations = convert(args.mat_file, args.img_dir, args.split, args.pad)
    write_coco(args.out_file, images, annotations, keypoint_category('mmpose::mpii'))


if __name__ == '__main__':
    main()
