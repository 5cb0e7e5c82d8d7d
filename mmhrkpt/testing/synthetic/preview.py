"""A preview of COCO person annotations: images enlarged, their boxes and skeletons drawn.

Its colours differ from the generator's limb colours (the left side warm, the right cool) so the
drawn ground truth stands out on the figures: the left side green, the right magenta, the centre
(nose, and limbs joining both sides) yellow, boxes white.
"""
import json
import os.path as osp

import cv2
import numpy as np

from mmhrkpt.datasets.keypoint_meta import (COCO_KEYPOINT_NAMES, COCO_SKELETON, LEFT_PREFIX,
                                            RIGHT_PREFIX)
from mmhrkpt.testing.synthetic.render import ONE, SHIFT, fixed_point

PREVIEW_SIDE_COLOURS = dict(left=(0, 255, 0), right=(255, 0, 255), centre=(0, 255, 255))  # BGR
PREVIEW_BOX_COLOUR = (255, 255, 255)
PREVIEW_KEYPOINT_RADIUS = 1.25  # pixels of the original image
PREVIEW_GAP = 4  # white pixels between tiles


def _side(name):
    if name.startswith(LEFT_PREFIX):
        return 'left'
    return 'right' if name.startswith(RIGHT_PREFIX) else 'centre'


def draw_annotations(image, annotations, zoom=2):
    """``image`` enlarged ``zoom`` times with COCO person annotations drawn; v=2 keypoints filled,
    v=1 hollow.

    Args:
        image (np.ndarray): uint8 BGR [H, W, 3].
        annotations (list[dict]): COCO annotations with ``bbox`` and 17 keypoints (pixel indices).
        zoom (int): enlargement.

    Returns:
        np.ndarray: uint8 BGR [zoom * H, zoom * W, 3].
    """
    out = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    for ann in annotations:
        # pixel index -> continuous (+0.5) -> zoomed -> zoomed pixel index (-0.5)
        kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        xy = (kpts[:, :2] + 0.5) * zoom - 0.5
        x, y, w, h = ann['bbox']
        cv2.rectangle(out, (x * zoom, y * zoom), ((x + w) * zoom - 1, (y + h) * zoom - 1),
                      PREVIEW_BOX_COLOUR, 1)
        for i, j in COCO_SKELETON:
            if kpts[i, 2] > 0 and kpts[j, 2] > 0:
                side_i, side_j = _side(COCO_KEYPOINT_NAMES[i]), _side(COCO_KEYPOINT_NAMES[j])
                colour = PREVIEW_SIDE_COLOURS[side_i if side_i == side_j else 'centre']
                cv2.line(out, fixed_point(xy[i]), fixed_point(xy[j]), colour, 1, cv2.LINE_AA,
                         SHIFT)
        for k in np.nonzero(kpts[:, 2] > 0)[0]:
            cv2.circle(out, fixed_point(xy[k]), int(PREVIEW_KEYPOINT_RADIUS * zoom * ONE),
                       PREVIEW_SIDE_COLOURS[_side(COCO_KEYPOINT_NAMES[k])],
                       -1 if kpts[k, 2] == 2 else 1, cv2.LINE_AA, SHIFT)
    return out


def save_preview(ann_file, img_prefix, out_file, num_images=8, zoom=2, columns=4):
    """Save a grid of the first ``num_images`` images of ``ann_file``, each shown raw and then
    with its annotations drawn (``draw_annotations``), enlarged ``zoom`` times.

    Returns:
        str: ``out_file``.
    """
    with open(ann_file) as f:
        dataset = json.load(f)
    tiles = []
    for info in dataset['images'][:num_images]:
        path = osp.join(img_prefix, info['file_name'])
        image = cv2.imread(path)
        if image is None:
            raise FileNotFoundError(f'preview: cannot read image {path}')
        anns = [a for a in dataset['annotations'] if a['image_id'] == info['id']]
        tiles += [draw_annotations(image, [], zoom), draw_annotations(image, anns, zoom)]
    if not tiles:
        raise ValueError(f'preview: {ann_file} has no images')
    tile_h, tile_w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (tile_h + PREVIEW_GAP), columns * (tile_w + PREVIEW_GAP), 3), 255,
                   np.uint8)
    for n, tile in enumerate(tiles):
        r, c = divmod(n, columns)
        y, x = r * (tile_h + PREVIEW_GAP), c * (tile_w + PREVIEW_GAP)
        grid[y:y + tile_h, x:x + tile_w] = tile
    if not cv2.imwrite(out_file, grid):
        raise RuntimeError(f'OpenCV could not write the preview {out_file}')
    return out_file
